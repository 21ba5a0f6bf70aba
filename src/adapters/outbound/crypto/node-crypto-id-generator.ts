import { createHash, randomUUID } from 'node:crypto';
import type { IdGenerator } from '../../../application/ports/id-generator.js';

/** SHA-256 digests shaped as a UUID (8-4-4-4-12 hex), and random UUIDs, from node:crypto. */
export class NodeCryptoIdGenerator implements IdGenerator {
  randomId(): string {
    return randomUUID();
  }

  digestId(text: string): string {
    const hex = createHash('sha256').update(`atlas-rotator:${text}`).digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }
}
