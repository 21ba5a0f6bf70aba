import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import {
  DETAIL_TYPE_COMPLETED,
  DETAIL_TYPE_FAILED,
  DETAIL_TYPE_OLD_SECRET_IN_USE,
  DETAIL_TYPE_OLD_SECRET_RETIRED,
} from '../../src/domain/rotation-events.js';

// ajv-formats is CommonJS: under NodeNext the default import is module.exports, whose `default` is the plugin.
const addFormats = addFormatsModule.default;

const SCHEMA_DIR = resolve(import.meta.dirname, '../../schemas');

/** The published event contracts, by detail-type. */
export const EVENT_SCHEMA_FILES: Readonly<Record<string, string>> = {
  [DETAIL_TYPE_COMPLETED]: 'rotation-completed.v1.json',
  [DETAIL_TYPE_FAILED]: 'rotation-failed.v1.json',
  [DETAIL_TYPE_OLD_SECRET_RETIRED]: 'old-secret-retired.v1.json',
  [DETAIL_TYPE_OLD_SECRET_IN_USE]: 'old-secret-still-in-use.v1.json',
};

let validators: ReadonlyMap<string, ValidateFunction> | undefined;

function compiled(): ReadonlyMap<string, ValidateFunction> {
  if (validators === undefined) {
    // strict: an unknown keyword or a type/format mismatch in a schema is a bug in the schema.
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
    addFormats(ajv);
    const map = new Map<string, ValidateFunction>();
    for (const [detailType, file] of Object.entries(EVENT_SCHEMA_FILES)) {
      const schema = JSON.parse(readFileSync(resolve(SCHEMA_DIR, file), 'utf8')) as Record<string, unknown>;
      map.set(detailType, ajv.compile(schema));
    }
    validators = map;
  }
  return validators;
}

function describe(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const params = Object.keys(e.params).length === 0 ? '' : ` ${JSON.stringify(e.params)}`;
    return `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${params}`;
  });
}

/**
 * Problems with an event's detail against the schema of its detail-type (schemas/*.v1.json); empty when
 * it conforms. An unknown detail-type is a problem too.
 */
export function validateEventDetail(detailType: string, detail: unknown): string[] {
  const validate = compiled().get(detailType);
  if (validate === undefined) return [`no schema for detail-type "${detailType}"`];
  return validate(detail) ? [] : describe(validate.errors);
}

/** The schema documents themselves (for checking their `examples`). */
export function eventSchema(detailType: string): Record<string, unknown> {
  const file = EVENT_SCHEMA_FILES[detailType];
  if (file === undefined) throw new Error(`no schema for detail-type "${detailType}"`);
  return JSON.parse(readFileSync(resolve(SCHEMA_DIR, file), 'utf8')) as Record<string, unknown>;
}
