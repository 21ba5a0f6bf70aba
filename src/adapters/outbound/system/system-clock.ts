import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../../../application/ports/clock.js';

export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
  async sleep(ms: number): Promise<void> {
    await delay(ms);
  }
}
