/** Median, min and max of a few repeated measurements. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('no samples to summarize');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { median, min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0 };
}

/** `1.23 s (1.20–1.31)` or, with `unit: 'ms'`, `512 ms (498–530)`. */
export function formatSummary(summary: Summary, unit: 's' | 'ms'): string {
  if (unit === 'ms') {
    const f = (ms: number) => ms.toFixed(0);
    return `${f(summary.median)} ms (${f(summary.min)}–${f(summary.max)})`;
  }
  const f = (ms: number) => (ms / 1000).toFixed(2);
  return `${f(summary.median)} s (${f(summary.min)}–${f(summary.max)})`;
}

export function ratio(value: number): string {
  return `${value.toFixed(2)}×`;
}

/** A plain text table: right-aligned columns, a header and a rule. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('   ')}`.trimEnd();
  const rule = `  ${widths.map((w) => '-'.repeat(w)).join('   ')}`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Runs `task` over `items` with at most `limit` in flight; resolves when all are done (rejects on the first failure). */
export async function inPool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
