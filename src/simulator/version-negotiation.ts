/** Version dates the Atlas Admin API v2 publishes (facts sheet §2.7, SDK-VERS). Other dates are rejected. */
export const API_VERSION_DATES: readonly string[] = [
  '2023-01-01',
  '2023-02-01',
  '2023-10-01',
  '2023-11-15',
  '2024-05-30',
  '2024-08-05',
  '2024-10-23',
  '2024-11-13',
  '2025-02-19',
  '2025-03-12',
];

const VERSIONED_MEDIA_TYPE = /^application\/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+json$/i;

/**
 * Resolves a versioned `Accept` header to the newest resource version not later than the requested date
 * (facts sheet §2.7: that rule is an inference, but it is why 2025-03-12 reaches the 2024-08-05 SA endpoints).
 * Undefined means 406 INVALID_VERSION_DATE: no versioned media type, an unpublished date, or a date before
 * the resource's first version. Among several media ranges the first that resolves wins; q-values are ignored.
 */
export function negotiateVersion(
  accept: string | undefined,
  resourceVersions: readonly string[],
): string | undefined {
  for (const range of (accept ?? '').split(',')) {
    const mediaType = range.split(';')[0]?.trim() ?? '';
    const date = VERSIONED_MEDIA_TYPE.exec(mediaType)?.[1];
    if (date === undefined || !API_VERSION_DATES.includes(date)) continue;
    const resolved = resourceVersions
      .filter((v) => v <= date)
      .sort()
      .at(-1);
    if (resolved !== undefined) return resolved;
  }
  return undefined;
}

export function versionedContentType(version: string): string {
  return `application/vnd.atlas.${version}+json`;
}
