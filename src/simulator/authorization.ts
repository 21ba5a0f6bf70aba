import type { RoleRequirement } from './atlas-contract.js';
import type { Principal } from './simulator-store.js';

/**
 * Which roles satisfy a role requirement of the contract (the spec's `x-rolesRequirements`). The hierarchy is
 * the one Atlas documents for its built-in roles, with the choices below marked where they are inferences:
 * - ORG_OWNER implies every org role and every project role in the org's projects;
 * - every org role implies ORG_MEMBER (a member is the least an org role is) [inference];
 * - ORG_READ_ONLY implies Project Read Only in every project of the org: it can read projects' service
 *   accounts [inference: Atlas documents that an Organization Read Only user can see all projects];
 * - every project role implies Project Read Only in that project; GROUP_OWNER implies every project role;
 *   Project Access Manager is GROUP_ACCESS_MANAGER or GROUP_OWNER;
 * - Cloud Manager's "Organization User Admin" is ORG_USER_ADMIN (or ORG_OWNER);
 * - a principal acts only in its own org, and a project-level account only where it holds a role (it is an
 *   ORG_MEMBER of the parent org, so org paths that need more answer 403 to it).
 */
const ORG_REQUIREMENTS: Partial<Record<RoleRequirement, readonly string[]>> = {
  'Organization Owner': ['ORG_OWNER'],
  'Organization Read Only': ['ORG_OWNER', 'ORG_READ_ONLY'],
  'Organization User Admin': ['ORG_OWNER', 'ORG_USER_ADMIN'],
};

const PROJECT_REQUIREMENTS: Partial<Record<RoleRequirement, readonly string[]>> = {
  'Project Owner': ['GROUP_OWNER'],
  'Project Access Manager': ['GROUP_OWNER', 'GROUP_ACCESS_MANAGER'],
};

/** Whether the principal may act on the org (`projectId` null) or on one of its projects as `requirement` says. */
function satisfies(principal: Principal, requirement: RoleRequirement, projectId: string | null): boolean {
  const orgRoles = principal.roles;
  if (orgRoles.includes('ORG_OWNER')) return true;
  if (requirement === 'Organization Member') return orgRoles.length > 0;
  const orgRolesNeeded = ORG_REQUIREMENTS[requirement];
  if (orgRolesNeeded !== undefined) return orgRoles.some((role) => orgRolesNeeded.includes(role));
  // Project requirements: meaningful only on a project path.
  if (projectId === null) return false;
  const projectRoles = principal.projectRoles.get(projectId) ?? [];
  if (requirement === 'Project Read Only')
    return projectRoles.length > 0 || orgRoles.includes('ORG_READ_ONLY');
  const projectRolesNeeded = PROJECT_REQUIREMENTS[requirement] ?? [];
  return projectRoles.some((role) => projectRolesNeeded.includes(role));
}

/** Any one of the requirements is enough; an operation with none is open to any authenticated principal. */
export function authorized(
  principal: Principal,
  requirements: readonly RoleRequirement[],
  projectId: string | null,
): boolean {
  return requirements.length === 0 || requirements.some((r) => satisfies(principal, r, projectId));
}
