import { BlockList, isIP } from 'node:net';
import { type ApiErrorBody, apiError } from './api-error.js';
import type { AccessListEntry, OrgRecord, Principal } from './simulator-store.js';

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) is `127.0.0.1`; other addresses are kept as given. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

function family(address: string): 'ipv4' | 'ipv6' | undefined {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : undefined;
}

/** Whether an entry admits the address: an exact address, or a CIDR block containing it. */
export function entryMatches(entry: AccessListEntry, address: string): boolean {
  const type = family(address);
  if (type === undefined) return false;
  const list = new BlockList();
  if (entry.ipAddress !== null) {
    const entryType = family(entry.ipAddress);
    if (entryType === undefined) return false;
    list.addAddress(entry.ipAddress, entryType);
  } else if (entry.cidrBlock !== null) {
    const [network = '', bits = ''] = entry.cidrBlock.split('/');
    const entryType = family(network);
    if (entryType === undefined) return false;
    list.addSubnet(network, Number(bits), entryType);
  }
  return list.check(address, type);
}

/** Throws for an entry node:net cannot read (seeding); the API validates against the contract first. */
export function checkAccessListInput(entry: { ipAddress?: string | null; cidrBlock?: string | null }): void {
  if (entry.ipAddress !== undefined && entry.ipAddress !== null && family(entry.ipAddress) === undefined) {
    throw new Error(`not an IP address: ${entry.ipAddress}`);
  }
  if (entry.cidrBlock !== undefined && entry.cidrBlock !== null) {
    const [network = '', bits = ''] = entry.cidrBlock.replace(/%2f/i, '/').split('/');
    const type = family(network);
    const max = type === 'ipv4' ? 32 : 128;
    if (type === undefined || !/^\d{1,3}$/.test(bits) || Number(bits) > max) {
      throw new Error(`not a CIDR block: ${entry.cidrBlock}`);
    }
  }
}

/**
 * The access-list gate of the public APIs (facts sheet §5), checked when a credential is used, never when a
 * token is minted or revoked. An org with `apiAccessListRequired` refuses a credential without a list
 * (403 ORG_REQUIRES_ACCESS_LIST, parameters [callerIp]); a credential with a list is refused from any address
 * the list does not cover (403 IP_ADDRESS_NOT_ON_ACCESS_LIST). An empty list in an org that does not require one
 * admits any address: documented for API keys, an inference for service accounts. The entry that admitted the
 * request records the address, the time and one more request (Atlas updates these with a delay; here at once).
 */
export function checkAccessList(
  principal: Principal,
  org: OrgRecord | undefined,
  callerIp: string,
  now: Date,
): ApiErrorBody | undefined {
  if (principal.accessList.length === 0) {
    if (org?.settings.apiAccessListRequired !== true) return undefined;
    return {
      ...apiError(
        403,
        'ORG_REQUIRES_ACCESS_LIST',
        'This organization requires access through an access list of ip ranges.',
      ),
      parameters: [callerIp],
    };
  }
  const entry = principal.accessList.find((e) => entryMatches(e, callerIp));
  if (entry === undefined) {
    return {
      ...apiError(
        403,
        'IP_ADDRESS_NOT_ON_ACCESS_LIST',
        `IP address ${callerIp} is not allowed to access this resource.`,
      ),
      parameters: [callerIp],
    };
  }
  entry.lastUsedAddress = callerIp;
  entry.lastUsedAt = now;
  entry.requestCount += 1;
  return undefined;
}
