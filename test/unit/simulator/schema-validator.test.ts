import { describe, expect, it } from 'vitest';
import { route } from '../../../src/simulator/api-router.js';
import { authorized } from '../../../src/simulator/authorization.js';
import { violations } from '../../../src/simulator/schema-validator.js';
import type { Principal } from '../../../src/simulator/simulator-store.js';
import { ContractValidator } from '../../support/contract-validator.js';

const ajv = new ContractValidator();

/** Bodies each request schema is tried with: the simulator's own validator and ajv must agree on every one. */
const SAMPLES: Readonly<Record<string, readonly unknown[]>> = {
  ServiceAccountSecretRequest: [
    { secretExpiresAfterHours: 24 },
    { secretExpiresAfterHours: 0 },
    { secretExpiresAfterHours: 1.5 },
    { secretExpiresAfterHours: '24' },
    {},
    [],
    null,
    'text',
  ],
  OrgServiceAccountRequest: [
    { name: 'a', description: 'b', roles: ['ORG_OWNER'], secretExpiresAfterHours: 8 },
    { name: '', description: 'b', roles: ['ORG_OWNER'], secretExpiresAfterHours: 8 },
    { name: 'x'.repeat(65), description: 'b', roles: ['ORG_OWNER'], secretExpiresAfterHours: 8 },
    { name: 'ok', description: 'semi;colon', roles: ['ORG_OWNER'], secretExpiresAfterHours: 8 },
    { name: "Zürich l'équipe", description: 'd', roles: ['ORG_OWNER'], secretExpiresAfterHours: 8 },
    { name: 'a', description: 'b', roles: [], secretExpiresAfterHours: 8 },
    { name: 'a', description: 'b', roles: ['GROUP_OWNER'], secretExpiresAfterHours: 8 },
    { name: 'a', roles: ['ORG_OWNER'], secretExpiresAfterHours: 8 },
  ],
  GroupServiceAccountUpdateRequest: [
    {},
    { name: null },
    { name: 'ok', roles: ['GROUP_OWNER'] },
    { roles: 'GROUP_OWNER' },
  ],
  GroupServiceAccountRoleAssignment: [{ roles: ['GROUP_OWNER'] }, { roles: [] }, { roles: ['A', 'A'] }, {}],
  ServiceAccountAccessListRequest: [
    [{ ipAddress: '203.0.113.10' }],
    [{ cidrBlock: '192.0.2.0/24' }],
    [{ cidrBlock: '192.0.2.0%2F24' }],
    [{ cidrBlock: '2001:db8::/32' }],
    [{ ipAddress: '999.1.1.1' }],
    [{ ipAddress: '192.0.2.0/24' }],
    [{ cidrBlock: '192.0.2.0/33' }],
    Array.from({ length: 201 }, () => ({ ipAddress: '203.0.113.10' })),
    {},
  ],
  OrganizationSettings: [
    { maxServiceAccountSecretValidityInHours: 8 },
    { maxServiceAccountSecretValidityInHours: 7 },
    { maxServiceAccountSecretValidityInHours: 8761 },
    { apiAccessListRequired: 'yes' },
    { operationsContact: null },
    { customSessionTimeouts: { idleSessionTimeoutInSeconds: 1.5 } },
  ],
};

describe('the simulator’s schema validator', () => {
  for (const [schema, samples] of Object.entries(SAMPLES)) {
    it(`agrees with ajv on ${schema}`, () => {
      for (const sample of samples) {
        const ours = violations(schema, sample).length === 0;
        const theirs = ajv.checkSchema(schema, sample).length === 0;
        expect({ sample, ours }).toEqual({ sample, ours: theirs });
      }
    });
  }

  it('names the field that breaks the schema', () => {
    expect(violations('OrgServiceAccountRequest', { name: 'a', description: 'b', roles: ['X'] })).toEqual([
      { field: 'secretExpiresAfterHours', description: 'is required' },
      { field: 'roles[0]', description: expect.stringMatching(/^must be one of ORG_OWNER/) },
    ]);
    expect(
      violations('ServiceAccountAccessListRequest', [{ ipAddress: '1.1.1.1', cidrBlock: '1.1.1.0/24' }]),
    ).toEqual([{ field: '[0]', description: 'must carry exactly one of ipAddress, cidrBlock' }]);
  });
});

describe('the contract router', () => {
  it('matches the :invite suffix before the plain account template, and lists allowed methods otherwise', () => {
    const invite = route(
      'atlas-v2',
      'POST',
      '/api/atlas/v2/groups/aaaaaaaaaaaaaaaaaaaaaaaa/serviceAccounts/mdb_sa_id_aaaaaaaaaaaaaaaaaaaaaaaa:invite',
    );
    expect(invite !== undefined && 'operation' in invite ? invite.operation.operationId : invite).toBe(
      'inviteGroupServiceAccount',
    );
    expect(route('atlas-v2', 'PUT', '/api/atlas/v2/orgs/x/serviceAccounts/y/')).toEqual({
      allow: ['DELETE', 'GET', 'PATCH'],
    });
    expect(route('atlas-v2', 'GET', '/api/atlas/v2/orgs/x/nothing')).toBeUndefined();
    expect(route('cloud-manager-v1', 'GET', '/api/atlas/v2/orgs/x/serviceAccounts')).toBeUndefined();
  });
});

describe('role requirements', () => {
  const principal = (roles: string[], projectRoles: [string, string[]][] = []): Principal => ({
    orgId: 'o',
    roles,
    projectRoles: new Map(projectRoles),
    accessList: [],
  });

  it.each([
    [['ORG_OWNER'], 'Organization Read Only', null, true],
    [['ORG_READ_ONLY'], 'Organization Read Only', null, true],
    [['ORG_MEMBER'], 'Organization Read Only', null, false],
    [['ORG_GROUP_CREATOR'], 'Organization Member', null, true],
    [['ORG_READ_ONLY'], 'Organization Owner', null, false],
    [['ORG_OWNER'], 'Project Owner', 'p', true],
    [['ORG_READ_ONLY'], 'Project Read Only', 'p', true],
    [['ORG_READ_ONLY'], 'Project Owner', 'p', false],
    [['ORG_MEMBER'], 'Project Read Only', 'p', false],
    [['ORG_MEMBER'], 'Project Owner', null, false],
  ] as const)('%j satisfies %s on %s: %s', (roles, requirement, projectId, expected) => {
    expect(authorized(principal([...roles]), [requirement], projectId)).toBe(expected);
  });

  it('reads project roles in their own project only, with GROUP_OWNER implying Project Access Manager', () => {
    const owner = principal(['ORG_MEMBER'], [['p', ['GROUP_OWNER']]]);
    const manager = principal(['ORG_MEMBER'], [['p', ['GROUP_ACCESS_MANAGER']]]);

    expect(authorized(owner, ['Project Access Manager'], 'p')).toBe(true);
    expect(authorized(owner, ['Project Read Only'], 'q')).toBe(false);
    expect(authorized(manager, ['Project Access Manager'], 'p')).toBe(true);
    expect(authorized(manager, ['Project Owner'], 'p')).toBe(false);
    expect(authorized(manager, ['Project Read Only'], 'p')).toBe(true);
  });
});
