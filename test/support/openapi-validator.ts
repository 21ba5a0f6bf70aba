import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

// ajv-formats is CommonJS: under NodeNext the default import is module.exports, whose `default` is the plugin.
const addFormats = addFormatsModule.default;

type JsonObject = Record<string, unknown>;

const SCHEMA_BASE = 'https://atlas-spec.invalid/schemas/';
const COMPONENT_SCHEMA_REF = '#/components/schemas/';

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * OpenAPI 3.0 schema -> JSON Schema for Ajv: `$ref`s to components get absolute ids, and the draft-04 boolean
 * `exclusiveMinimum`/`exclusiveMaximum` become numbers. `nullable` is left to Ajv, which understands it.
 */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith(COMPONENT_SCHEMA_REF)) {
      out.$ref = SCHEMA_BASE + value.slice(COMPONENT_SCHEMA_REF.length);
    } else if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value === 'boolean') {
      // handled below with the matching minimum/maximum
    } else {
      out[key] = toJsonSchema(value);
    }
  }
  if (node.exclusiveMinimum === true && typeof node.minimum === 'number') {
    out.exclusiveMinimum = node.minimum;
    delete out.minimum;
  }
  if (node.exclusiveMaximum === true && typeof node.maximum === 'number') {
    out.exclusiveMaximum = node.maximum;
    delete out.maximum;
  }
  return out;
}

function describe(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
}

/**
 * MongoDB's Atlas OpenAPI slice, read at test time from `../shared/reference/` when it is there (never copied
 * here). Optional: only the contract comparison test uses it, and skips without it.
 */
export class OpenApiSpec {
  readonly #document: JsonObject;
  readonly #ajv: Ajv;
  readonly #compiled = new Map<string, ValidateFunction>();

  private constructor(document: JsonObject) {
    this.#document = document;
    this.#ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.#ajv);
    const components = isObject(document.components) ? document.components : {};
    const schemas = isObject(components.schemas) ? components.schemas : {};
    for (const [name, schema] of Object.entries(schemas)) {
      this.#ajv.addSchema(toJsonSchema(schema) as JsonObject, SCHEMA_BASE + name);
    }
  }

  static load(path: string): OpenApiSpec {
    const document: unknown = parse(readFileSync(path, 'utf8'));
    if (!isObject(document)) throw new Error(`${path} is not an OpenAPI document`);
    return new OpenApiSpec(document);
  }

  /** The parsed document, for structural comparisons (test/unit/simulator/atlas-contract-vs-official.test.ts). */
  get document(): JsonObject {
    return this.#document;
  }

  /** A node with its `$ref` (if any) followed, recursively. */
  resolved(node: unknown): JsonObject | undefined {
    return this.#resolve(node);
  }

  /** Statuses the spec declares for an operation, e.g. ['200', '401', ...]. */
  declaredStatuses(method: string, pathTemplate: string): string[] {
    return Object.keys(this.#responses(method, pathTemplate));
  }

  /** Problems with a value against a named component schema; empty when it conforms. */
  checkSchema(name: string, value: unknown): string[] {
    return this.#check({ $ref: SCHEMA_BASE + name }, value);
  }

  /**
   * Problems with a response against what the spec declares for this operation and status: the status must be
   * declared, the content type must be one of the declared media types, and the body must match its schema (or
   * be empty when no schema is declared). Empty when the response conforms.
   */
  checkResponse(
    method: string,
    pathTemplate: string,
    response: { readonly status: number; readonly contentType: string | null; readonly body: string },
  ): string[] {
    const declared = this.#resolve(this.#responses(method, pathTemplate)[String(response.status)]);
    if (declared === undefined)
      return [`status ${response.status} is not declared for ${method} ${pathTemplate}`];
    const content = isObject(declared.content) ? declared.content : {};
    const mediaTypes = Object.keys(content);
    if (mediaTypes.length === 0 || response.body === '') {
      return response.body === '' ? [] : [`expected no body, got ${response.body.slice(0, 80)}`];
    }
    const mediaType = response.contentType?.split(';')[0]?.trim() ?? '';
    const media = content[mediaType];
    if (!isObject(media)) return [`content type ${mediaType} is not one of ${mediaTypes.join(', ')}`];
    if (media.schema === undefined)
      return [`expected no body for ${mediaType}, got ${response.body.slice(0, 80)}`];
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return [`body is not JSON: ${response.body.slice(0, 80)}`];
    }
    return this.#check(toJsonSchema(media.schema), body);
  }

  #responses(method: string, pathTemplate: string): JsonObject {
    const paths = isObject(this.#document.paths) ? this.#document.paths : {};
    const item = paths[pathTemplate];
    const operation = isObject(item) ? item[method.toLowerCase()] : undefined;
    if (!isObject(operation) || !isObject(operation.responses)) {
      throw new Error(`the spec has no operation ${method} ${pathTemplate}`);
    }
    return operation.responses;
  }

  #resolve(node: unknown): JsonObject | undefined {
    if (!isObject(node)) return undefined;
    const ref = node.$ref;
    if (typeof ref !== 'string') return node;
    let target: unknown = this.#document;
    for (const part of ref.replace(/^#\//, '').split('/'))
      target = isObject(target) ? target[part] : undefined;
    return this.#resolve(target);
  }

  #check(schema: unknown, value: unknown): string[] {
    const key = JSON.stringify(schema);
    let validate = this.#compiled.get(key);
    if (validate === undefined) {
      validate = this.#ajv.compile(schema as JsonObject);
      this.#compiled.set(key, validate);
    }
    return validate(value) ? [] : describe(validate.errors);
  }
}
