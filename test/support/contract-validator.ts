import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import {
  OPERATIONS,
  type OperationContract,
  ROUTER_STATUSES,
  SCHEMAS,
} from '../../src/simulator/atlas-contract.js';

// ajv-formats is CommonJS: under NodeNext the default import is module.exports, whose `default` is the plugin.
const addFormats = addFormatsModule.default;

const CONTRACT_ID = 'https://atlas-rotator.invalid/atlas-contract';
const VERSIONED = /^application\/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+json$/;

function describe(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
}

/**
 * Checks responses against the project's own contract (src/simulator/atlas-contract.ts) with ajv, an
 * implementation independent of the simulator's own validator. Reads nothing outside the repository.
 */
export class ContractValidator {
  readonly #ajv: Ajv;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor() {
    this.#ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.#ajv);
    this.#ajv.addSchema({ $id: CONTRACT_ID, $defs: SCHEMAS });
  }

  operation(method: string, pathTemplate: string): OperationContract {
    const found = OPERATIONS.find((o) => o.method === method.toUpperCase() && o.path === pathTemplate);
    if (found === undefined) throw new Error(`the contract has no operation ${method} ${pathTemplate}`);
    return found;
  }

  /** Statuses the contract declares for an operation, e.g. ['200', '401', ...]. */
  declaredStatuses(method: string, pathTemplate: string): string[] {
    return Object.keys(this.operation(method, pathTemplate).responses);
  }

  /** Problems with a value against a named contract schema; empty when it conforms. */
  checkSchema(name: string, value: unknown): string[] {
    if (SCHEMAS[name] === undefined) return [`the contract has no schema ${name}`];
    let validate = this.#compiled.get(name);
    if (validate === undefined) {
      validate = this.#ajv.compile({ $ref: `${CONTRACT_ID}#/$defs/${name}` });
      this.#compiled.set(name, validate);
    }
    return validate(value) ? [] : describe(validate.errors);
  }

  /**
   * Problems with a response against the contract: the status must be declared for the operation (or be one
   * the router answers on any v2 operation, with an ApiError), the media type must be the declared one (a
   * versioned type must name one of the operation's versions), and the body must match (or be empty).
   */
  checkResponse(
    method: string,
    pathTemplate: string,
    response: { readonly status: number; readonly contentType: string | null; readonly body: string },
  ): string[] {
    const operation = this.operation(method, pathTemplate);
    const declared =
      operation.responses[response.status] ??
      (operation.api === 'atlas-v2' && ROUTER_STATUSES.includes(response.status)
        ? { body: 'ApiError', mediaType: 'json' as const }
        : undefined);
    if (declared === undefined)
      return [`status ${response.status} is not declared for ${method} ${pathTemplate}`];
    if (declared.body === undefined) {
      return response.body === '' ? [] : [`expected no body, got ${response.body.slice(0, 80)}`];
    }
    const mediaType = response.contentType?.split(';')[0]?.trim() ?? '';
    if (declared.mediaType === 'versioned') {
      const version = VERSIONED.exec(mediaType)?.[1];
      if (version === undefined || !operation.versions.includes(version)) {
        return [
          `content type ${mediaType} is not one of ${operation.versions.map((v) => `application/vnd.atlas.${v}+json`).join(', ')}`,
        ];
      }
    } else if (mediaType !== 'application/json') {
      return [`content type ${mediaType} is not one of application/json`];
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return [`body is not JSON: ${response.body.slice(0, 80)}`];
    }
    return this.checkSchema(declared.body, body);
  }
}
