/** ISO 8601 UTC to the second, the way Atlas renders `createdAt` / `expiresAt`. */
export function atlasTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
