import type { PlanRotation, RotationPlan } from '../../../application/plan-rotation.js';
import type { ReportStatus, SecretStatusEntry, StatusReport } from '../../../application/report-status.js';
import { InvalidInputError } from '../../../domain/errors.js';
import { EXIT, parseRotateArgs, type RotateArgs, secretIdArg } from './rotate-cli.js';

export interface StatusArgs {
  readonly json: boolean;
  readonly secretIds: readonly string[];
}

export type PlanArgs = RotateArgs;

export function parseStatusArgs(args: readonly string[]): StatusArgs {
  let json = false;
  const secretIds: string[] = [];
  for (const arg of args) {
    if (arg === '--json') json = true;
    else if (arg.startsWith('--')) throw new InvalidInputError(arg, 'is not an option of status');
    else secretIds.push(secretIdArg(arg));
  }
  return { json, secretIds };
}

export function parsePlanArgs(args: readonly string[]): PlanArgs {
  return parseRotateArgs(args, 'plan');
}

/** Exit codes like `rotate`'s: 0 the rotation would go ahead (or is done), 1 it would fail for good, 75 it would fail for now. */
export function planExitCode(plan: RotationPlan): number {
  if (plan.stop === undefined) return EXIT.ok;
  return plan.stop.retryable ? EXIT.retryLater : EXIT.failed;
}

/** Runs one dry run: the plan as JSON on stdout, a one-line summary on stderr. */
export async function runPlan(
  planRotation: PlanRotation,
  args: PlanArgs,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  const plan = await planRotation.execute({
    secretId: args.secretId,
    token: args.requestId,
    retireOldNow: args.retireOldNow,
  });
  out(`${JSON.stringify(plan, null, 2)}\n`);
  err(`${planSummary(plan)}\n`);
  return planExitCode(plan);
}

export function planSummary(plan: RotationPlan): string {
  const name = plan.secretName ?? plan.secretId;
  if (plan.stop !== undefined) {
    return `a rotation of ${name} would stop at ${plan.stop.stage}: ${plan.stop.errorCode}: ${plan.stop.message}`;
  }
  const steps = plan.actions.map((a) => {
    switch (a.action) {
      case 'delete-atlas-secret':
        return `delete Atlas secret ${a.atlasSecretId} (${a.reason})`;
      case 'create-atlas-secret':
        return `create an Atlas secret valid ${a.expiresAfterHours} h${a.clampedFromHours === undefined ? '' : ` (clamped from ${a.clampedFromHours} h to the org maximum)`}`;
      case 'store-verify-promote':
        return `store, verify and promote it${a.retireAtlasSecretId === undefined ? '' : `, AWSCURRENT's ${a.retireAtlasSecretId} becoming AWSPREVIOUS`}`;
      default:
        return `${a.action} ${a.credentialId}`;
    }
  });
  const how = `${plan.mode ?? '?'} mode, ${plan.flavor ?? '?'} at ${plan.origin ?? '?'}`;
  if (plan.verdict === 'done') return `the rotation of ${name} with this request id is done (${how})`;
  return `a rotation of ${name} (${how}) would ${steps.join('; then ')}`;
}

/** Exit codes: 0 nothing needs attention, 1 something does (for scripts and cron). */
export function statusExitCode(report: StatusReport): number {
  return report.summary.needAttention > 0 ? EXIT.failed : EXIT.ok;
}

/** Runs status: JSON on stdout with `--json` (or when stdout is no terminal), a table otherwise. */
export async function runStatus(
  reportStatus: ReportStatus,
  args: StatusArgs,
  namePrefix: string | undefined,
  tty: boolean,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  const report = await reportStatus.execute({ secretIds: args.secretIds, namePrefix });
  if (args.json || !tty) out(`${JSON.stringify(report, null, 2)}\n`);
  else out(statusTable(report));
  err(`${report.summary.secrets} secrets, ${report.summary.needAttention} need attention\n`);
  return statusExitCode(report);
}

const COLUMNS = ['SECRET', 'MODE', 'FLAVOR', 'CURRENT', 'EXPIRES IN', 'LAST ROTATION', 'ATTENTION'] as const;

function row(e: SecretStatusEntry): string[] {
  return [
    e.secretName ?? e.secretId,
    e.mode ?? '-',
    e.flavor ?? '-',
    e.current?.atlasSecretId ?? '-',
    e.current === undefined ? '-' : `${e.current.hoursToExpiry} h`,
    e.lastRotation === undefined
      ? '-'
      : `${e.lastRotation.at} ${e.lastRotation.outcome}${e.lastRotation.requestId === undefined ? '' : ` ${e.lastRotation.requestId}`}`,
    e.attention.length === 0 ? 'ok' : e.attention.map((a) => a.code).join(','),
  ];
}

/** The table for people: one row per secret, then the reason for every attention item. */
export function statusTable(report: StatusReport): string {
  const rows = [[...COLUMNS], ...report.secrets.map(row)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  const reasons = report.secrets.flatMap((e) =>
    e.attention.map((a) => `${e.secretName ?? e.secretId}: ${a.code}: ${a.reason}`),
  );
  return `${[...lines, ...(reasons.length === 0 ? [] : ['', ...reasons])].join('\n')}\n`;
}
