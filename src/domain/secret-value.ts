/**
 * Secret material. It cannot leak through logs, JSON, string interpolation or `util.inspect`:
 * the only way out is `reveal()`, and every use of it is greppable.
 */
export class SecretValue {
  readonly #value: string;

  private constructor(value: string) {
    this.#value = value;
  }

  static of(value: string): SecretValue {
    if (value.length === 0) {
      throw new TypeError('A secret value cannot be empty');
    }
    return new SecretValue(value);
  }

  reveal(): string {
    return this.#value;
  }

  equals(other: SecretValue): boolean {
    return this.#value === other.#value;
  }

  toJSON(): string {
    return '[REDACTED]';
  }

  toString(): string {
    return '[REDACTED]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'SecretValue([REDACTED])';
  }
}
