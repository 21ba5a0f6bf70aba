import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  OPERATIONS,
  type OperationContract,
  type ParameterContract,
  SCHEMAS,
  type Schema,
} from '../../../src/simulator/atlas-contract.js';
import { OpenApiSpec } from '../../support/openapi-validator.js';

/**
 * Compares the project's contract (src/simulator/atlas-contract.ts) with MongoDB's published OpenAPI slice, when
 * the slice sits beside the repository at `../shared/reference/` (it is CC BY-NC-SA and never copied in). On a
 * clone without it the comparison is skipped, and says so.
 */
const OFFICIAL_PATH = resolve(
  import.meta.dirname,
  '../../../../shared/reference/atlas-service-accounts.openapi.yaml',
);
const available = existsSync(OFFICIAL_PATH);
if (!available) {
  console.info(
    `atlas-contract-vs-official: skipped, ${OFFICIAL_PATH} is not there (MongoDB's spec is read beside the repository, never copied into it).`,
  );
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Values each identifier pattern must accept or refuse alike in both documents. */
const PATTERN_SAMPLES: readonly string[] = [
  '32b6e34b3d91647abb20e7b8',
  '32B6E34B3D91647ABB20E7B8',
  '32b6e34b3d91647abb20e7b',
  'not-an-id',
  'mdb_sa_id_1234567890abcdef12345678',
  'mdb_sa_id_1234567890ABCDEF12345678',
  'mdb_sa_id_1234567890abcdef1234567',
  'mdb_sa_id_1234567890abcdef1234567g',
  'rotated-service-account',
  "Zürich ops, l'équipe_1.2",
  'semi;colon',
  'slash/name',
  '',
  '203.0.113.10',
  '192.0.2.0%2F24',
  '192.0.2.0/24',
  '10.0.0.0/8',
  '2001:db8:0:0:0:0:0:1',
  '2001:db8:0:0:0:0:0:0/64',
  '1.2.3',
  'abc',
];

function regex(source: string): RegExp {
  try {
    return new RegExp(source, 'u');
  } catch {
    // The published patterns escape `:`, which only non-unicode regular expressions allow.
    return new RegExp(source);
  }
}

/** Where two patterns disagree on the samples the sample set deems relevant (values at least one accepts). */
function patternDisagreements(
  ours: string | undefined,
  theirs: string | undefined,
  exclude: readonly string[] = [],
): string[] {
  if (ours === undefined || theirs === undefined)
    return ours === theirs ? [] : [`pattern ${ours} vs ${theirs}`];
  return PATTERN_SAMPLES.filter((sample) => !exclude.includes(sample)).flatMap((sample) =>
    regex(ours).test(sample) === regex(theirs).test(sample)
      ? []
      : [`"${sample}": ours ${regex(ours).test(sample)}, official ${regex(theirs).test(sample)}`],
  );
}

/** A schema reduced to what both documents state: types, nullability, fields, required, bounds, patterns. */
interface Shape {
  type?: string;
  nullable: boolean;
  format?: string;
  pattern?: string;
  enum?: string[];
  bounds: Record<string, number | boolean>;
  required?: string[];
  properties?: Record<string, Shape>;
  items?: Shape;
}

const INT32 = { minimum: -2147483648, maximum: 2147483647 };

function officialShape(spec: OpenApiSpec, node: unknown): Shape {
  const schema = spec.resolved(node) ?? {};
  const bounds: Record<string, number | boolean> = {};
  for (const key of ['minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems'] as const) {
    if (schema[key] !== undefined) bounds[key] = schema[key] as number | boolean;
  }
  if (schema.format === 'int32') Object.assign(bounds, INT32);
  if (typeof schema.minimum === 'number') bounds.minimum = schema.minimum;
  if (typeof schema.maximum === 'number') bounds.maximum = schema.maximum;
  if (schema.exclusiveMinimum === true) {
    bounds.exclusiveMinimum = bounds.minimum as number;
    delete bounds.minimum;
  }
  const shape: Shape = { nullable: schema.nullable === true, bounds };
  if (typeof schema.type === 'string') shape.type = schema.type;
  if (schema.format === 'date-time') shape.format = 'date-time';
  if (typeof schema.pattern === 'string') shape.pattern = schema.pattern;
  if (Array.isArray(schema.enum)) shape.enum = [...(schema.enum as string[])].sort();
  if (Array.isArray(schema.required)) shape.required = [...(schema.required as string[])].sort();
  if (isObject(schema.properties)) {
    shape.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([name, value]) => [name, officialShape(spec, value)]),
    );
  }
  if (schema.items !== undefined) shape.items = officialShape(spec, schema.items);
  return shape;
}

function ourSchema(schema: Schema): Schema {
  if (schema.$ref === undefined) return schema;
  const target = SCHEMAS[schema.$ref.replace('#/$defs/', '')];
  if (target === undefined) throw new Error(`unknown schema ${schema.$ref}`);
  return ourSchema(target);
}

function ourShape(node: Schema): Shape {
  const schema = ourSchema(node);
  const types =
    schema.type === undefined ? [] : typeof schema.type === 'string' ? [schema.type] : [...schema.type];
  const bounds: Record<string, number | boolean> = {};
  for (const key of [
    'minLength',
    'maxLength',
    'minItems',
    'maxItems',
    'uniqueItems',
    'minimum',
    'maximum',
    'exclusiveMinimum',
  ] as const) {
    if (schema[key] !== undefined) bounds[key] = schema[key];
  }
  const shape: Shape = { nullable: types.includes('null'), bounds };
  const [type] = types.filter((t) => t !== 'null');
  if (type !== undefined) shape.type = type;
  if (schema.format !== undefined) shape.format = schema.format;
  if (schema.pattern !== undefined) shape.pattern = schema.pattern;
  if (schema.enum !== undefined) shape.enum = [...(schema.enum as string[])].sort();
  if (schema.required !== undefined) shape.required = [...schema.required].sort();
  if (schema.properties !== undefined) {
    shape.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([n, v]) => [n, ourShape(v)]),
    );
  }
  if (schema.items !== undefined) shape.items = ourShape(schema.items);
  return shape;
}

/**
 * Differences between the two documents that are deliberate, each with its reason. Keys are `where` strings
 * produced by {@link compareShapes}.
 */
const DELIBERATE: Readonly<Record<string, string>> = {
  'ApiError.parameters.items':
    'the documented 429 bodies carry strings and numbers as parameters (facts sheet §4.3); the spec types the items as objects',
};

function compareShapes(
  where: string,
  ours: Shape | undefined,
  theirs: Shape | undefined,
  out: string[],
): void {
  if (DELIBERATE[where] !== undefined) return;
  if (ours === undefined || theirs === undefined) {
    if (ours !== theirs)
      out.push(`${where}: ${ours === undefined ? 'missing in ours' : 'not in the official spec'}`);
    return;
  }
  if (ours.type !== theirs.type) out.push(`${where}.type: ${ours.type} vs ${theirs.type}`);
  // The spec marks the whole create-SA body nullable, yet requires it; ours simply requires an object.
  if (ours.nullable !== theirs.nullable && !where.endsWith('(request)'))
    out.push(`${where}.nullable: ${ours.nullable} vs ${theirs.nullable}`);
  if (ours.format !== theirs.format) out.push(`${where}.format: ${ours.format} vs ${theirs.format}`);
  for (const problem of patternDisagreements(ours.pattern, theirs.pattern))
    out.push(`${where}.pattern ${problem}`);
  if (JSON.stringify(ours.enum) !== JSON.stringify(theirs.enum))
    out.push(`${where}.enum: ${JSON.stringify(ours.enum)} vs ${JSON.stringify(theirs.enum)}`);
  if (JSON.stringify(ours.bounds) !== JSON.stringify(theirs.bounds)) {
    const sort = (b: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(b).sort()));
    if (sort(ours.bounds) !== sort(theirs.bounds))
      out.push(`${where}.bounds: ${sort(ours.bounds)} vs ${sort(theirs.bounds)}`);
  }
  if (JSON.stringify(ours.required ?? []) !== JSON.stringify(theirs.required ?? []))
    out.push(`${where}.required: ${JSON.stringify(ours.required)} vs ${JSON.stringify(theirs.required)}`);
  const names = new Set([...Object.keys(ours.properties ?? {}), ...Object.keys(theirs.properties ?? {})]);
  for (const name of [...names].sort()) {
    compareShapes(`${where}.${name}`, ours.properties?.[name], theirs.properties?.[name], out);
  }
  if (ours.items !== undefined || theirs.items !== undefined)
    compareShapes(`${where}.items`, ours.items, theirs.items, out);
}

interface OfficialOperation {
  readonly method: string;
  readonly path: string;
  readonly operation: Json;
}

function officialOperations(spec: OpenApiSpec): OfficialOperation[] {
  const paths = isObject(spec.document.paths) ? spec.document.paths : {};
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(isObject(item) ? item : {})
      .filter(([, operation]) => isObject(operation))
      .map(([method, operation]) => ({ method: method.toUpperCase(), path, operation: operation as Json })),
  );
}

function officialParameters(spec: OpenApiSpec, operation: Json): Json[] {
  const list = Array.isArray(operation.parameters) ? operation.parameters : [];
  return list.map((p) => spec.resolved(p) ?? {});
}

function versionOf(mediaType: string): string | undefined {
  return /^application\/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+json$/.exec(mediaType)?.[1];
}

const ours = OPERATIONS.filter((o) => o.api === 'atlas-v2');

describe.skipIf(!available)('the project’s Atlas contract against MongoDB’s published spec', () => {
  const spec = available ? OpenApiSpec.load(OFFICIAL_PATH) : undefined;
  const official = spec === undefined ? [] : officialOperations(spec);
  const pair = (o: OperationContract): OfficialOperation | undefined =>
    official.find((x) => x.method === o.method && x.path === o.path);

  it('serves exactly the official paths and methods, under the official operationIds', () => {
    expect(ours.map((o) => `${o.method} ${o.path}`).sort()).toEqual(
      official.map((o) => `${o.method} ${o.path}`).sort(),
    );
    expect(ours).toHaveLength(24);
    for (const operation of ours) expect(pair(operation)?.operation.operationId).toBe(operation.operationId);
  });

  it('demands the roles of x-rolesRequirements', () => {
    for (const operation of ours) {
      expect({ op: operation.operationId, roles: operation.roles }).toEqual({
        op: operation.operationId,
        roles: pair(operation)?.operation['x-rolesRequirements'],
      });
    }
  });

  it('has the official path and query parameters, with equivalent patterns and the same bounds and defaults', () => {
    const problems: string[] = [];
    for (const operation of ours) {
      const theirs = officialParameters(spec as OpenApiSpec, pair(operation)?.operation ?? {});
      const key = (p: { in: unknown; name: unknown }) => `${String(p.in)}:${String(p.name)}`;
      expect({ op: operation.operationId, params: operation.parameters.map(key).sort() }).toEqual({
        op: operation.operationId,
        params: theirs.map((p) => key({ in: p.in, name: p.name })).sort(),
      });
      for (const parameter of operation.parameters) {
        const other = theirs.find((p) => p.name === parameter.name && p.in === parameter.in);
        const schema = isObject(other?.schema) ? other.schema : {};
        const where = `${operation.operationId} ${parameter.in}:${parameter.name}`;
        if (parameter.type !== schema.type)
          problems.push(`${where} type ${parameter.type} vs ${String(schema.type)}`);
        for (const bound of [
          'minimum',
          'maximum',
          'default',
        ] as const satisfies readonly (keyof ParameterContract)[]) {
          if (parameter[bound] !== schema[bound]) {
            problems.push(`${where} ${bound} ${String(parameter[bound])} vs ${String(schema[bound])}`);
          }
        }
        // Ours accepts a CIDR block's slash only as %2F, as the spec's description says (its pattern also admits a raw "/"
        // outside the first alternative, by a quirk of alternation without a group).
        const exclude =
          parameter.name === 'ipAddress' ? ['192.0.2.0/24', '10.0.0.0/8', '2001:db8:0:0:0:0:0:0/64'] : [];
        for (const problem of patternDisagreements(
          parameter.pattern,
          schema.pattern as string | undefined,
          exclude,
        )) {
          problems.push(`${where} ${problem}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('takes the official request bodies, in the official media types', () => {
    const problems: string[] = [];
    for (const operation of ours) {
      const body = (pair(operation)?.operation.requestBody ?? undefined) as Json | undefined;
      expect({ op: operation.operationId, body: operation.requestBody !== undefined }).toEqual({
        op: operation.operationId,
        body: body !== undefined,
      });
      if (body === undefined || operation.requestBody === undefined) continue;
      const content = isObject(body.content) ? body.content : {};
      expect(Object.keys(content).map(versionOf)).toEqual(operation.versions);
      const [media] = Object.values(content) as Json[];
      compareShapes(
        `${operation.operationId}(request)`,
        ourShape({ $ref: `#/$defs/${operation.requestBody.schema}` }),
        officialShape(spec as OpenApiSpec, media?.schema),
        problems,
      );
    }
    expect(problems).toEqual([]);
  });

  it('declares every official status, and answers success bodies of the official shape and media type', () => {
    const problems: string[] = [];
    for (const operation of ours) {
      const responses = (pair(operation)?.operation.responses ?? {}) as Json;
      for (const [status, raw] of Object.entries(responses)) {
        const declared = operation.responses[Number(status)];
        if (declared === undefined) {
          problems.push(`${operation.operationId} ${status} not declared`);
          continue;
        }
        const response = (spec as OpenApiSpec).resolved(raw) ?? {};
        const content = isObject(response.content) ? response.content : {};
        const [mediaType = '', media] = Object.entries(content)[0] ?? [];
        const schema = isObject(media) ? media.schema : undefined;
        if (declared.mediaType === 'versioned') {
          if (versionOf(mediaType) === undefined || !operation.versions.includes(versionOf(mediaType) ?? ''))
            problems.push(
              `${operation.operationId} ${status} media type ${mediaType} vs ${operation.versions}`,
            );
        } else if (declared.mediaType === 'json' && mediaType !== 'application/json') {
          problems.push(`${operation.operationId} ${status} media type ${mediaType} vs application/json`);
        }
        if ((declared.body === undefined) !== (schema === undefined)) {
          problems.push(
            `${operation.operationId} ${status} body ${declared.body} vs ${schema === undefined ? 'none' : 'a schema'}`,
          );
          continue;
        }
        if (declared.body === undefined) continue;
        const where = declared.body === 'ApiError' ? 'ApiError' : `${operation.operationId} ${status}`;
        compareShapes(
          where,
          ourShape({ $ref: `#/$defs/${declared.body}` }),
          officialShape(spec as OpenApiSpec, schema),
          problems,
        );
      }
      const extra = Object.keys(operation.responses).filter((s) => responses[s] === undefined);
      // The only status we add: 409 on create-secret, which Atlas answers to overlapping creates (facts sheet §2.5).
      expect({ op: operation.operationId, extra }).toEqual({
        op: operation.operationId,
        extra:
          operation.operationId.endsWith('ServiceAccountSecret') && operation.method === 'POST'
            ? ['409']
            : [],
      });
    }
    expect([...new Set(problems)]).toEqual([]);
  });
});

describe('the contract on its own', () => {
  it('names only schemas it defines', () => {
    const refs = JSON.stringify(SCHEMAS).match(/#\/\$defs\/[A-Za-z]+/g) ?? [];
    const named = OPERATIONS.flatMap((o) => [
      ...(o.requestBody === undefined ? [] : [o.requestBody.schema]),
      ...Object.values(o.responses).flatMap((r) => (r.body === undefined ? [] : [r.body])),
    ]);
    for (const name of [...refs.map((r) => r.replace('#/$defs/', '')), ...named]) {
      expect(SCHEMAS[name], name).toBeDefined();
    }
  });
});
