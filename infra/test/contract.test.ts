import { describe, expect, it } from 'vitest';
import {
  DETAIL_TYPE_COMPLETED,
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_REQUESTED,
} from '../../src/domain/rotation-events.js';
import * as contract from '../lib/contract.js';

describe('the event contract the infrastructure routes', () => {
  it('is the service’s', () => {
    expect(contract.DETAIL_TYPE_REQUESTED).toBe(DETAIL_TYPE_REQUESTED);
    expect(contract.DETAIL_TYPE_COMPLETED).toBe(DETAIL_TYPE_COMPLETED);
    expect(contract.DETAIL_TYPE_FAILED).toBe(DETAIL_TYPE_FAILED);
  });
});
