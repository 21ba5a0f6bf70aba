/** Identifiers the rotation protocol needs and the domain may not make itself (no randomness, no digests there). */
export interface IdGenerator {
  /** A new random id: the `execution` of a claim, unique per run. */
  randomId(): string;
  /**
   * A UUID-shaped digest of `text`, the same for the same text on every host and release: attempt `n > 1` of a
   * token gets the credential VersionId `digestId("<token>#<n>")`, which any run recomputes to find it.
   */
  digestId(text: string): string;
}
