/**
 * Checks one document against the structure of the CloudWatch Embedded Metric Format specification: a root
 * `_aws` member with an integer millisecond `Timestamp` and `CloudWatchMetrics` directives, each with a
 * `Namespace`, `Dimensions` (arrays of dimension keys, at most 30 keys each, every key a string member of the
 * root) and `Metrics` (at most 100, each with a `Name` that is a number member of the root and a valid `Unit`).
 * Returns the problems found; none means valid.
 */
const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

export function emfProblems(document: unknown): string[] {
  const problems: string[] = [];
  if (typeof document !== 'object' || document === null) return ['not an object'];
  const root = document as Record<string, unknown>;
  const aws = root._aws as Record<string, unknown> | undefined;
  if (typeof aws !== 'object' || aws === null) return ['no _aws member'];
  if (!Number.isInteger(aws.Timestamp) || (aws.Timestamp as number) < 0) {
    problems.push('_aws.Timestamp is not a non-negative integer (milliseconds since the epoch)');
  }
  const directives = aws.CloudWatchMetrics;
  if (!Array.isArray(directives) || directives.length === 0) {
    return [...problems, '_aws.CloudWatchMetrics is not a non-empty array'];
  }
  for (const directive of directives as Record<string, unknown>[]) {
    const ns = directive.Namespace;
    if (typeof ns !== 'string' || ns.length < 1 || ns.length > 255)
      problems.push('Namespace is not 1-255 chars');
    if (!Array.isArray(directive.Dimensions)) problems.push('Dimensions is not an array');
    for (const set of (directive.Dimensions ?? []) as unknown[]) {
      if (!Array.isArray(set)) {
        problems.push('a dimension set is not an array');
        continue;
      }
      if (set.length > 30) problems.push(`a dimension set has ${set.length} keys (at most 30)`);
      for (const key of set) {
        if (typeof key !== 'string' || typeof root[key] !== 'string') {
          problems.push(`dimension ${String(key)} has no string value at the root`);
        }
      }
    }
    const metrics = directive.Metrics;
    if (!Array.isArray(metrics) || metrics.length === 0) {
      problems.push('Metrics is not a non-empty array');
      continue;
    }
    if (metrics.length > 100) problems.push(`${metrics.length} metrics in a directive (at most 100)`);
    for (const metric of metrics as Record<string, unknown>[]) {
      const name = metric.Name;
      if (typeof name !== 'string' || name.length < 1 || name.length > 1024) {
        problems.push('a metric Name is not 1-1024 chars');
        continue;
      }
      const value = root[name];
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0 || values.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
        problems.push(`metric ${name} has no finite number value at the root`);
      }
      if (metric.Unit !== undefined && !UNITS.has(metric.Unit as string)) {
        problems.push(`metric ${name} has unit ${String(metric.Unit)}`);
      }
    }
  }
  return problems;
}

/** The documents a sink received, one JSON line each. */
export function parseLines(lines: readonly string[]): Record<string, unknown>[] {
  return lines.flatMap((chunk) => chunk.split('\n').filter((l) => l.trim() !== '')).map((l) => JSON.parse(l));
}
