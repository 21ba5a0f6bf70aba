import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseCredential } from '../../../src/domain/credential.js';
import { SecretValue } from '../../../src/domain/secret-value.js';
import { aCredentialValue, CURRENT_SECRET_VALUE } from '../../support/builders.js';

const PLAIN = 'mdb_sa_sk_do_not_print_me';

describe('SecretValue', () => {
  const value = SecretValue.of(PLAIN);

  it('gives its value out through reveal() only', () => {
    expect(value.reveal()).toBe(PLAIN);
  });

  it.each([
    ['JSON.stringify', () => JSON.stringify({ value })],
    ['String()', () => String(value)],
    ['a template literal', () => `${value}`],
    ['util.inspect', () => inspect({ nested: { value } }, { depth: 5 })],
    ['string concatenation', () => `x${value}`],
  ])('does not leak through %s', (_name, render) => {
    expect(render()).not.toContain(PLAIN);
    expect(render()).toContain('REDACTED');
  });

  it('does not leak through a parsed credential either', () => {
    const credential = parseCredential(aCredentialValue());

    expect(JSON.stringify(credential)).not.toContain(CURRENT_SECRET_VALUE);
    expect(inspect(credential, { depth: 5 })).not.toContain(CURRENT_SECRET_VALUE);
  });

  it('refuses an empty value', () => {
    expect(() => SecretValue.of('')).toThrow(TypeError);
  });

  it('compares by value', () => {
    expect(value.equals(SecretValue.of(PLAIN))).toBe(true);
    expect(value.equals(SecretValue.of('other'))).toBe(false);
  });
});
