import { RotationInProgressError, RotatorError } from '../domain/errors.js';
import type { RotationCompleted, RotationFailed, RotationStepOutcome } from '../domain/rotation-outcome.js';
import type { NextStep } from '../domain/rotation-protocol.js';
import {
  applyStepEvent,
  INITIAL_RUN_STATE,
  type RotationRunState,
  type RotationStepEvent,
  rotationOutcome,
} from '../domain/rotation-run.js';
import { FifoGate } from './fifo-gate.js';
import type { AtlasServiceAccounts } from './ports/atlas-service-accounts.js';
import type { Clock } from './ports/clock.js';
import type { IdGenerator } from './ports/id-generator.js';
import type { Logger } from './ports/logger.js';
import { NO_METRICS, type RotationMetrics } from './ports/rotation-metrics.js';
import type { SecretStore } from './ports/secret-store.js';
import { NO_TRACING, type Tracer } from './ports/tracer.js';
import { adopt, finishOthersRollback } from './steps/adopt.js';
import { startAttempt } from './steps/attempt.js';
import { verifyPending } from './steps/conclude.js';
import { fence } from './steps/fence.js';
import { readAndDecide } from './steps/read-secret.js';
import { finish } from './steps/retire.js';
import { alreadyCompleted, rolledBack, wait } from './steps/settled.js';
import {
  type RotateSecretCommand,
  type RotateSecretSettings,
  type Run,
  type SecretRead,
  StepContext,
} from './steps/step-context.js';

export type { RotateSecretCommand, RotateSecretSettings } from './steps/step-context.js';

/** How often one run reads again after a fence, an adoption or a lost swap before it gives way. */
const MAX_ROUNDS = 5;

/**
 * Rotates one managed secret by the protocol of ADR 0007: the domain names the next step from what the secret's
 * versions say, and each step here is one unit whose safety rests on the store's compare-and-swap (a VersionId is
 * written once; AWSCURRENT moves only from the version it was read on), never on timing.
 */
export class RotateSecret {
  private readonly ctx: StepContext;
  /** READ_CONCURRENCY: reads admitted in arrival order (undefined: no limit). */
  private readonly reads: FifoGate | undefined;

  constructor(
    store: SecretStore,
    atlas: AtlasServiceAccounts,
    private readonly clock: Clock,
    private readonly logger: Logger,
    settings: RotateSecretSettings,
    ids: IdGenerator,
    private readonly tracer: Tracer = NO_TRACING,
    private readonly metrics: RotationMetrics = NO_METRICS,
  ) {
    this.ctx = new StepContext(store, atlas, clock, logger, settings, ids);
    this.reads = settings.readConcurrency === undefined ? undefined : new FifoGate(settings.readConcurrency);
  }

  execute(
    command: RotateSecretCommand & { readonly stopAfter?: undefined },
  ): Promise<RotationCompleted | RotationFailed>;
  execute(command: RotateSecretCommand): Promise<RotationStepOutcome>;
  /** The loop: read, let the domain name the step, run its unit, apply its event — until the run is over. */
  async execute(command: RotateSecretCommand): Promise<RotationStepOutcome> {
    const run: Run = {
      stage: 'read-secret',
      token: command.token,
      stopAfter: command.stopAfter,
      entry: command.entry ?? 'request',
      retireNow: command.retireOldSecret === 'now',
      startedAt: this.clock.now().toISOString(),
      secretArn: undefined,
    };
    // One span per rotation run, child of the request's (or of the current span); one per read and per step.
    return this.tracer.inSpan(
      'atlas-rotator.rotation',
      {
        attributes: {
          'atlas_rotator.rotation_id': run.token,
          'atlas_rotator.secret_id': command.secretId,
          'atlas_rotator.entry': run.entry,
          'atlas_rotator.stop_after': command.stopAfter,
        },
      },
      async (span) => {
        let state: RotationRunState = INITIAL_RUN_STATE;
        while (state.status === 'reading') {
          state = applyStepEvent(state, await this.round(command, run, state.round));
        }
        const outcome = rotationOutcome(state, {
          secretId: command.secretId,
          rotationId: run.token,
          startedAt: run.startedAt,
          endedAt: this.clock.now().toISOString(),
        });
        span.setAttributes({
          'atlas_rotator.secret_arn': run.secretArn,
          'atlas_rotator.status': outcome.status,
          'atlas_rotator.stage': run.stage,
        });
        if (outcome.status === 'failed') span.fail(outcome.errorCode);
        this.metrics.rotationRan(outcome, { mode: run.mode ?? 'unknown', flavour: run.flavour ?? 'unknown' });
        return outcome;
      },
    );
  }

  /**
   * Resolves once the work runs started after their outcome (revoking their Atlas tokens, best effort) has ended.
   * `execute` does not wait for it, so that a rotation's latency ends at its outcome; whoever ends a process or a
   * Lambda invocation calls this first (the container's disposal does). Never rejects.
   */
  settled(): Promise<void> {
    return this.ctx.settled();
  }

  /** One round: read the secret, then the step the protocol names. A thrown error becomes a failed event. */
  private async round(command: RotateSecretCommand, run: Run, round: number): Promise<RotationStepEvent> {
    try {
      if (round >= MAX_ROUNDS) {
        throw new RotationInProgressError(
          command.secretId,
          command.token,
          'now: other runs keep changing the secret',
        );
      }
      const reading = () =>
        this.tracer.inSpan(
          'atlas-rotator.read-secret',
          { attributes: { 'atlas_rotator.round': round } },
          () => readAndDecide(this.ctx, command.secretId, run),
        );
      const { read, step } = await (this.reads === undefined ? reading() : this.reads.run(reading));
      return await this.logged(step, read, run);
    } catch (error) {
      return this.ctx.failed(run, error);
    }
  }

  /** The one wrapper around every step unit: one span and one line per step, with its duration, event and error code. */
  private async logged(step: NextStep, read: SecretRead, run: Run): Promise<RotationStepEvent> {
    const started = this.clock.now().getTime();
    const line = (outcome: string, errorCode?: string) =>
      this.logger.debug('rotation step unit', {
        rotationId: run.token,
        secretArn: read.description.arn,
        step: step.kind,
        durationMs: this.clock.now().getTime() - started,
        outcome,
        ...(errorCode === undefined ? {} : { errorCode }),
      });
    try {
      const event = await this.tracer.inSpan(
        `atlas-rotator.step ${step.kind}`,
        { attributes: { 'atlas_rotator.step': step.kind, 'atlas_rotator.secret_arn': read.description.arn } },
        async (span) => {
          const stepEvent = await this.perform(step, read, run);
          span.setAttributes({
            'atlas_rotator.step_event': stepEvent.type,
            'atlas_rotator.stage': run.stage,
          });
          return stepEvent;
        },
      );
      line(event.type);
      return event;
    } catch (error) {
      line('rotation-failed', error instanceof RotatorError ? error.code : 'UNEXPECTED');
      throw error;
    }
  }

  /** The step unit for each step the protocol names. */
  private async perform(step: NextStep, read: SecretRead, run: Run): Promise<RotationStepEvent> {
    const ctx = this.ctx;
    switch (step.kind) {
      case 'already-completed':
        return alreadyCompleted(ctx, read, run, step.credentialId);
      case 'rolled-back':
        return rolledBack(run);
      case 'wait':
        return wait(read, step.credentialId, step.until);
      case 'fence':
        return fence(ctx, read, run, step.credentialId);
      case 'finish-rollback':
        return finishOthersRollback(ctx, read, run, step.undoId, step.credentialId);
      case 'adopt':
        return adopt(ctx, read, run, step.credentialId);
      case 'finish':
        return finish(ctx, read, run, step.credentialId);
      case 'verify':
        return verifyPending(ctx, read, run, step.credentialId, false);
      case 'start':
        return startAttempt(ctx, read, run, step.attempt, step.credentialId);
    }
  }
}
