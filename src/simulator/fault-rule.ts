/**
 * A fault the simulator injects into matching requests, before normal handling. Rules are checked in the
 * order they were added; the first matching rule with no `skip` left is applied, and at most one rule
 * applies to a request. A matching rule that still has `skip` left lets the request pass (and counts it),
 * then checking continues with the next rule.
 */
export interface FaultRule {
  /** HTTP method, case-insensitive. Any method when absent. */
  method?: string;
  /** Prefix of the URL path (no query string), or a regular expression source when it starts with `^`. */
  path?: string;
  /** How many requests the rule applies to. Default 1; `Infinity` allowed. */
  times?: number;
  /** Let this many matching requests pass before the rule starts applying. */
  skip?: number;
  /** Delay before answering. Without `status`, the delay happens where the real work happens (see AtlasSimulator). */
  latencyMs?: number;
  /** Answer with this status instead of doing the work. */
  status?: number;
  /** Extra response headers (added to the injected or the real response). */
  headers?: Record<string, string>;
  /** Response body for `status`; default an Atlas ApiError for that status. A string is sent as is. */
  body?: unknown;
  /** Destroy the socket without a response: `before` doing the work, or `after` the work was done. */
  drop?: 'before' | 'after';
}

interface ActiveRule {
  readonly rule: FaultRule;
  readonly method: string | undefined;
  readonly matchesPath: (path: string) => boolean;
  remaining: number;
  skip: number;
}

function checkRule(rule: FaultRule): void {
  const times = rule.times ?? 1;
  if (!(times === Number.POSITIVE_INFINITY || (Number.isInteger(times) && times > 0))) {
    throw new Error(`FaultRule.times must be a positive integer or Infinity: ${times}`);
  }
  const skip = rule.skip ?? 0;
  if (!Number.isInteger(skip) || skip < 0)
    throw new Error(`FaultRule.skip must be a non-negative integer: ${skip}`);
  if (rule.latencyMs !== undefined && !(Number.isFinite(rule.latencyMs) && rule.latencyMs >= 0)) {
    throw new Error(`FaultRule.latencyMs must be a non-negative number: ${rule.latencyMs}`);
  }
  if (
    rule.status !== undefined &&
    !(Number.isInteger(rule.status) && rule.status >= 100 && rule.status <= 599)
  ) {
    throw new Error(`FaultRule.status must be an HTTP status: ${rule.status}`);
  }
  if (rule.drop !== undefined && rule.drop !== 'before' && rule.drop !== 'after') {
    throw new Error(`FaultRule.drop must be 'before' or 'after': ${String(rule.drop)}`);
  }
  if (rule.drop !== undefined && rule.status !== undefined) {
    throw new Error('FaultRule cannot both drop the connection and answer with a status');
  }
}

export class FaultInjector {
  #rules: ActiveRule[] = [];

  /** Throws on an invalid rule, so a typo fails the test that made it rather than silently not matching. */
  add(rule: FaultRule): void {
    checkRule(rule);
    const path = rule.path;
    const pattern = path?.startsWith('^') === true ? new RegExp(path) : undefined;
    this.#rules.push({
      rule: { ...rule, ...(rule.headers === undefined ? {} : { headers: { ...rule.headers } }) },
      method: rule.method?.toUpperCase(),
      matchesPath: (candidate) =>
        path === undefined || (pattern === undefined ? candidate.startsWith(path) : pattern.test(candidate)),
      remaining: rule.times ?? 1,
      skip: rule.skip ?? 0,
    });
  }

  clear(): void {
    this.#rules = [];
  }

  /** The rule to apply to this request, if any; consumes one use of it (and skips of the rules before it). */
  take(method: string, path: string): FaultRule | undefined {
    for (const active of this.#rules) {
      if (active.remaining <= 0) continue;
      if (active.method !== undefined && active.method !== method.toUpperCase()) continue;
      if (!active.matchesPath(path)) continue;
      if (active.skip > 0) {
        active.skip -= 1;
        continue;
      }
      active.remaining -= 1;
      if (active.remaining <= 0) this.#rules = this.#rules.filter((r) => r !== active);
      return active.rule;
    }
    return undefined;
  }
}
