import { AtlasApiError } from '../../src/application/infrastructure-errors.js';
import type {
  ActingCredential,
  AtlasServiceAccounts,
  AtlasTarget,
  CreatedAtlasSecret,
} from '../../src/application/ports/atlas-service-accounts.js';
import type { ServiceAccountCredential } from '../../src/domain/credential.js';
import type { AtlasSecretId, ClientId, OrgId } from '../../src/domain/identifiers.js';
import type { AtlasSecretInfo } from '../../src/domain/room-plan.js';
import { SecretValue } from '../../src/domain/secret-value.js';
import { type CallInterceptor, type FailureOptions, InjectedFailures } from './injected-failures.js';

const HOUR_MS = 3_600_000;
/** A new secret cuts every other secret of the account to at most 7 days from its creation. */
const OVERLAP_CAP_MS = 7 * 24 * HOUR_MS;
const MAX_SECRETS = 2;

export interface FakeAtlasSecret {
  readonly id: AtlasSecretId;
  readonly value: string;
  readonly createdAt: number;
  expiresAt: number;
  /** Stamped when the secret mints a token (as Atlas does). */
  lastUsedAt?: number;
}

export interface FakeServiceAccount {
  readonly clientId: ClientId;
  readonly orgId: OrgId;
  readonly roles: readonly string[];
  readonly secrets: FakeAtlasSecret[];
}

interface IssuedToken {
  readonly clientId: ClientId;
  readonly secretId: AtlasSecretId;
  revoked: boolean;
}

export interface AtlasWorldOptions {
  /** Whether a create shortens the account's other secrets to 7 days (as Atlas does). Default true. */
  readonly shortenOthers?: boolean;
  /** The org setting `maxServiceAccountSecretValidityInHours`. Default 8760. */
  readonly maxSecretValidityHours?: number;
  /** How long a new secret answers `invalid_client` before it can mint tokens. Default 0. */
  readonly newSecretUsableAfterMs?: number;
}

/**
 * Atlas's side: service accounts, their secrets and the tokens those minted. Shared by every
 * `InMemoryAtlasServiceAccounts` client, as Atlas outlives the processes that call it.
 */
export class AtlasWorld {
  readonly accounts = new Map<ClientId, FakeServiceAccount>();
  readonly tokens = new Map<string, IssuedToken>();
  /** Accounts with a create in progress: Atlas answers an overlapping create 409 DATA_CONCURRENCY_ERROR. */
  readonly createsInFlight = new Set<ClientId>();
  readonly options: Required<AtlasWorldOptions>;
  #ids = 0;

  constructor(
    readonly now: () => Date,
    options: AtlasWorldOptions = {},
  ) {
    this.options = {
      shortenOthers: options.shortenOthers ?? true,
      maxSecretValidityHours: options.maxSecretValidityHours ?? 8760,
      newSecretUsableAfterMs: options.newSecretUsableAfterMs ?? 0,
    };
  }

  addAccount(account: {
    readonly clientId: ClientId;
    readonly orgId: OrgId;
    readonly roles?: readonly string[];
    readonly secrets?: readonly {
      readonly id: AtlasSecretId;
      readonly value: string;
      readonly createdAt: string;
      readonly expiresAt: string;
    }[];
  }): FakeServiceAccount {
    const record: FakeServiceAccount = {
      clientId: account.clientId,
      orgId: account.orgId,
      roles: account.roles ?? ['ORG_OWNER'],
      secrets: (account.secrets ?? []).map((s) => ({
        id: s.id,
        value: s.value,
        createdAt: Date.parse(s.createdAt),
        expiresAt: Date.parse(s.expiresAt),
      })),
    };
    this.accounts.set(record.clientId, record);
    return record;
  }

  account(clientId: ClientId): FakeServiceAccount {
    const found = this.accounts.get(clientId);
    if (found === undefined) throw new Error(`no service account ${clientId} in the fake Atlas`);
    return found;
  }

  secretIds(clientId: ClientId): AtlasSecretId[] {
    return this.account(clientId).secrets.map((s) => s.id);
  }

  /** Whether `clientId` and `value` can mint a token now. */
  accepts(clientId: string, value: string): boolean {
    return this.#usableSecret(clientId, value) !== undefined;
  }

  nextSecretId(): AtlasSecretId {
    this.#ids += 1;
    return `5eed${this.#ids.toString(16).padStart(20, '0')}` as AtlasSecretId;
  }

  /** Secret values follow a sequence: deterministic, and distinct from any seeded value. */
  nextSecretValue(): string {
    return `mdb_sa_sk_generated_${this.#ids.toString().padStart(8, '0')}`;
  }

  mint(clientId: string, value: string): string {
    const secret = this.#usableSecret(clientId, value);
    if (secret === undefined) {
      throw new AtlasApiError(
        'ATLAS_INVALID_CLIENT',
        'Atlas refused the client credentials (invalid_client)',
        false,
        401,
        'invalid_client',
      );
    }
    secret.lastUsedAt = this.now().getTime();
    const accessToken = `access-token-${this.tokens.size + 1}`;
    this.tokens.set(accessToken, { clientId: clientId as ClientId, secretId: secret.id, revoked: false });
    return accessToken;
  }

  /** The account a token stands for, if it is alive: unrevoked, its secret present and unexpired. */
  caller(accessToken: string): FakeServiceAccount | undefined {
    const token = this.tokens.get(accessToken);
    if (token === undefined || token.revoked) return undefined;
    const account = this.accounts.get(token.clientId);
    const secret = account?.secrets.find((s) => s.id === token.secretId);
    if (secret === undefined || secret.expiresAt <= this.now().getTime()) return undefined;
    return account;
  }

  #usableSecret(clientId: string, value: string): FakeAtlasSecret | undefined {
    const now = this.now().getTime();
    return this.accounts
      .get(clientId as ClientId)
      ?.secrets.find(
        (s) =>
          s.value === value && s.expiresAt > now && now >= s.createdAt + this.options.newSecretUsableAfterMs,
      );
  }
}

export type AtlasOp = 'token' | 'get' | 'create' | 'delete' | 'revoke' | 'settings';

export interface AtlasCall {
  readonly op: AtlasOp;
  /** Who authenticated the call. */
  readonly clientId: ClientId;
  /** Which Atlas secret authenticated it, when known (token mints and calls made with a live token). */
  readonly as?: AtlasSecretId;
  readonly secretId?: AtlasSecretId;
  readonly hours?: number;
  /** Set when Atlas answered 401 to a cached token and the client minted a new one. */
  readonly status?: 401;
}

/** The fake models service accounts only; an API key is a test bug here. */
function sa(credential: ActingCredential): ServiceAccountCredential {
  if ('publicKey' in credential) throw new Error('the fake Atlas models service accounts only');
  return credential;
}

function keyOf(credential: ActingCredential): string {
  const { clientId, clientSecret } = sa(credential);
  return `${clientId}\u0000${clientSecret.reveal()}`;
}

function forbidden(): AtlasApiError {
  return new AtlasApiError(
    'ATLAS_FORBIDDEN',
    'Current user is not authorized to perform this action.',
    false,
    403,
    'USER_UNAUTHORIZED',
  );
}

/**
 * The Atlas client, in memory: a token minted per credential and reused while cached (as the real client
 * does), calls logged as Atlas would see them, failures injectable per operation.
 */
export class InMemoryAtlasServiceAccounts implements AtlasServiceAccounts {
  readonly calls: AtlasCall[] = [];
  interceptor: CallInterceptor | undefined;
  readonly #cache = new Map<string, string>();
  /** The credential each cached token was minted with, as the real client keeps it. */
  readonly #cached = new Map<string, ServiceAccountCredential>();
  readonly #failures = new InjectedFailures<AtlasOp>();

  constructor(readonly world: AtlasWorld) {}

  /** Makes `op` fail from its `nth` call on (1-based), `times` times in a row. */
  failOn(op: AtlasOp, error: Error, options: FailureOptions = {}): void {
    this.#failures.failOn(op, error, options);
  }

  ops(): AtlasOp[] {
    return this.calls.map((c) => c.op);
  }

  async listSecrets(target: AtlasTarget, as: ActingCredential): Promise<AtlasSecretInfo[]> {
    const caller = this.#authenticate(as, 'get');
    return this.#call({ op: 'get', clientId: sa(as).clientId, as: caller.secretId }, () => {
      const account = this.#target(caller.account, target, false);
      return account.secrets.map((s) => ({
        id: s.id,
        createdAt: new Date(s.createdAt).toISOString(),
        expiresAt: new Date(s.expiresAt).toISOString(),
        // Atlas's mask: a prefix and the value's last four characters.
        maskedSecretValue: `mdb_sa_sk_...${s.value.slice(-4)}`,
        lastUsedAt: s.lastUsedAt === undefined ? undefined : new Date(s.lastUsedAt).toISOString(),
      }));
    });
  }

  async proveCredential(target: AtlasTarget, credential: ServiceAccountCredential): Promise<void> {
    const caller = this.#authenticate(credential, 'token');
    if (caller.account.orgId !== target.orgId || caller.account.clientId !== target.clientId) {
      throw new Error("proveCredential is for the target account's own credential");
    }
  }

  async createSecret(
    target: AtlasTarget,
    as: ActingCredential,
    expiresAfterHours: number,
  ): Promise<CreatedAtlasSecret> {
    const caller = this.#authenticate(as, 'create');
    const call: AtlasCall = {
      op: 'create',
      clientId: sa(as).clientId,
      as: caller.secretId,
      hours: expiresAfterHours,
    };
    if (this.world.createsInFlight.has(target.clientId)) {
      return this.#call(call, () => {
        throw new AtlasApiError(
          'ATLAS_CONFLICT',
          'Another create is in progress on this service account (DATA_CONCURRENCY_ERROR)',
          true,
          409,
          'DATA_CONCURRENCY_ERROR',
        );
      });
    }
    this.world.createsInFlight.add(target.clientId);
    try {
      // A create takes Atlas a moment; another create on the account meanwhile conflicts (facts sheet §2.5).
      await new Promise<void>((resolve) => setImmediate(resolve));
      return this.#createNow(call, caller.account, target, expiresAfterHours);
    } finally {
      this.world.createsInFlight.delete(target.clientId);
    }
  }

  #createNow(
    call: AtlasCall,
    caller: FakeServiceAccount,
    target: AtlasTarget,
    expiresAfterHours: number,
  ): CreatedAtlasSecret {
    return this.#call(call, () => {
      const account = this.#target(caller, target, true);
      if (expiresAfterHours < 8 || expiresAfterHours > this.world.options.maxSecretValidityHours) {
        throw new AtlasApiError(
          'ATLAS_BAD_REQUEST',
          'Invalid attribute secretExpiresAfterHours',
          false,
          400,
          'VALIDATION_ERROR',
        );
      }
      if (account.secrets.length >= MAX_SECRETS) {
        throw new AtlasApiError(
          'ATLAS_BAD_REQUEST',
          'The service account already has the maximum of 2 secrets',
          false,
          400,
          'SERVICE_ACCOUNT_MAX_SECRETS_EXCEEDED',
        );
      }
      const now = this.world.now().getTime();
      if (this.world.options.shortenOthers) {
        for (const other of account.secrets)
          other.expiresAt = Math.min(other.expiresAt, now + OVERLAP_CAP_MS);
      }
      const id = this.world.nextSecretId();
      const secret: FakeAtlasSecret = {
        id,
        value: this.world.nextSecretValue(),
        createdAt: now,
        expiresAt: now + expiresAfterHours * HOUR_MS,
      };
      account.secrets.push(secret);
      return {
        id,
        createdAt: new Date(secret.createdAt).toISOString(),
        expiresAt: new Date(secret.expiresAt).toISOString(),
        secret: SecretValue.of(secret.value),
      };
    });
  }

  async deleteSecret(target: AtlasTarget, secretId: AtlasSecretId, as: ActingCredential): Promise<boolean> {
    const caller = this.#authenticate(as, 'delete');
    return this.#call({ op: 'delete', clientId: sa(as).clientId, as: caller.secretId, secretId }, () => {
      const account = this.#target(caller.account, target, true);
      const index = account.secrets.findIndex((s) => s.id === secretId);
      this.#forgetDeleted(target.clientId, secretId, as);
      if (index < 0) return false;
      account.secrets.splice(index, 1);
      return true;
    });
  }

  async maxSecretValidityHours(target: AtlasTarget, as: ActingCredential): Promise<number | undefined> {
    const caller = this.#authenticate(as, 'settings');
    return this.#call({ op: 'settings', clientId: sa(as).clientId, as: caller.secretId }, () =>
      caller.account.orgId === target.orgId ? this.world.options.maxSecretValidityHours : undefined,
    );
  }

  async endRotation(credentials: readonly ActingCredential[]): Promise<void> {
    for (const credential of credentials) {
      const key = keyOf(credential);
      const accessToken = this.#cache.get(key);
      this.#cache.delete(key);
      if (accessToken === undefined) continue;
      try {
        this.#call({ op: 'revoke', clientId: sa(credential).clientId }, () => {
          const token = this.world.tokens.get(accessToken);
          if (token !== undefined) token.revoked = true;
        });
      } catch {
        // Best effort by contract: a failed revoke leaves a token that expires by itself.
      }
    }
  }

  /** As the real client: forgets the cached tokens of credentials that name the deleted secret. */
  #forgetDeleted(clientId: string, secretId: AtlasSecretId, as: ActingCredential): void {
    if (sa(as).atlasSecretId === secretId) this.#cache.delete(keyOf(as));
    for (const [key, credential] of this.#cached) {
      if (credential.clientId === clientId && credential.atlasSecretId === secretId) this.#cache.delete(key);
    }
  }

  /** A live token for the credential: the cached one, or a new one (a 401 on a dead cached one mints again). */
  #authenticate(as: ActingCredential, op: AtlasOp): { account: FakeServiceAccount; secretId: AtlasSecretId } {
    const key = keyOf(as);
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      const account = this.world.caller(cached);
      const token = this.world.tokens.get(cached);
      if (account !== undefined && token !== undefined) return { account, secretId: token.secretId };
      this.#cache.delete(key);
      this.calls.push({ op, clientId: sa(as).clientId, status: 401 });
    }
    const accessToken = this.#call({ op: 'token', clientId: sa(as).clientId }, () =>
      this.world.mint(sa(as).clientId, sa(as).clientSecret.reveal()),
    );
    this.#cache.set(key, accessToken);
    if (!this.#cached.has(key)) this.#cached.set(key, sa(as));
    const token = this.world.tokens.get(accessToken);
    const account = this.world.accounts.get(sa(as).clientId);
    if (token === undefined || account === undefined) throw new Error('minted a token for no account');
    return { account, secretId: token.secretId };
  }

  #target(caller: FakeServiceAccount, target: AtlasTarget, owner: boolean): FakeServiceAccount {
    // The spec's x-rolesRequirements: reading a service account needs Organization Read Only (which
    // Organization Owner includes), managing its secrets Organization Owner; an Organization Member gets 403.
    if (caller.orgId !== target.orgId) throw forbidden();
    const allowed = owner ? ['ORG_OWNER'] : ['ORG_OWNER', 'ORG_READ_ONLY'];
    if (!caller.roles.some((role) => allowed.includes(role))) throw forbidden();
    const account = this.world.accounts.get(target.clientId);
    if (account === undefined || account.orgId !== target.orgId) {
      throw new AtlasApiError(
        'ATLAS_NOT_FOUND',
        `Cannot find resource service account ${target.clientId}.`,
        false,
        404,
        'RESOURCE_NOT_FOUND',
      );
    }
    return account;
  }

  #call<T>(call: AtlasCall, effect: () => T): T {
    this.calls.push(call);
    return this.#failures.run(call.op, `atlas.${call.op}`, this.interceptor, effect);
  }
}
