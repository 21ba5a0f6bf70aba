import { type JsonType, SCHEMAS, type Schema } from './atlas-contract.js';

/** One way a value breaks a schema: where (a dotted field path; `body` for the whole) and why. */
export interface SchemaViolation {
  readonly field: string;
  readonly description: string;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const patterns = new Map<string, RegExp>();

function pattern(source: string): RegExp {
  let compiled = patterns.get(source);
  if (compiled === undefined) {
    compiled = new RegExp(source, 'u');
    patterns.set(source, compiled);
  }
  return compiled;
}

function resolve(schema: Schema): Schema {
  if (schema.$ref === undefined) return schema;
  const name = schema.$ref.replace(/^#\/\$defs\//, '');
  const target = SCHEMAS[name];
  if (target === undefined) throw new Error(`the contract has no schema ${name}`);
  return resolve(target);
}

function typeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonType;
}

function typeMatches(actual: JsonType, expected: JsonType | readonly JsonType[]): boolean {
  const allowed: readonly JsonType[] = typeof expected === 'string' ? [expected] : expected;
  return allowed.includes(actual) || (actual === 'integer' && allowed.includes('number'));
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

function check(schemaOrRef: Schema, value: unknown, path: string, out: SchemaViolation[]): void {
  const schema = resolve(schemaOrRef);
  const field = path === '' ? 'body' : path;
  const fail = (description: string): void => {
    out.push({ field, description });
  };
  const actual = typeOf(value);
  if (schema.type !== undefined && !typeMatches(actual, schema.type)) {
    const expected = typeof schema.type === 'string' ? schema.type : schema.type.join(' or ');
    fail(`must be ${expected === 'integer' ? 'an integer' : `of type ${expected}`}`);
    return;
  }
  if (schema.enum !== undefined && !schema.enum.includes(value as string)) {
    fail(`must be one of ${schema.enum.join(', ')}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && [...value].length < schema.minLength)
      fail(`must be at least ${schema.minLength} characters long`);
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength)
      fail(`must be at most ${schema.maxLength} characters long`);
    if (schema.pattern !== undefined && !pattern(schema.pattern).test(value))
      fail('has characters or a form that is not allowed');
    if (schema.format === 'date-time' && !DATE_TIME.test(value)) fail('must be an ISO 8601 date-time');
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`must be at least ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`must be at most ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
      fail(`must be greater than ${schema.exclusiveMinimum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      fail(`must have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      fail(`must have at most ${schema.maxItems} items`);
    if (schema.uniqueItems === true && new Set(value.map((v) => JSON.stringify(v))).size !== value.length)
      fail('must not repeat an item');
    const items = schema.items;
    if (items !== undefined) {
      for (const [index, item] of value.entries()) check(items, item, join(path, index), out);
    }
  }
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (object[name] === undefined) out.push({ field: join(path, name), description: 'is required' });
    }
    const properties = schema.properties ?? {};
    for (const [name, property] of Object.entries(object)) {
      const propertySchema = properties[name];
      if (propertySchema === undefined) {
        if (schema.additionalProperties === false)
          out.push({ field: join(path, name), description: 'is not a known field' });
        continue;
      }
      if (property !== undefined) check(propertySchema, property, join(path, name), out);
    }
    const exclusive = schema['x-exclusive'];
    if (exclusive !== undefined) {
      const present = exclusive.filter((name) => object[name] !== undefined && object[name] !== null);
      if (present.length !== 1) fail(`must carry exactly one of ${exclusive.join(', ')}`);
    }
  }
}

/**
 * What is wrong with a value against a contract schema (by name or inline); empty when it conforms. Implements the
 * keywords the contract uses, nothing more: the simulator may import nothing but node built-ins.
 */
export function violations(schema: string | Schema, value: unknown): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  check(typeof schema === 'string' ? { $ref: `#/$defs/${schema}` } : schema, value, '', out);
  return out;
}
