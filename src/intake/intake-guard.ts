/**
 * What a topic source does when admitting a message fails (the dead-letter publish or the claim store
 * throws): the message goes back to the head of its source, so without a limit one message would be
 * retried forever and hold everything behind it (a Kafka partition cannot commit past it). Every failure
 * is logged and counted; the source then backs off (exponentially, `INTAKE_BACKOFF_BASE_MS` doubling up to
 * `INTAKE_BACKOFF_MAX_MS`) while the other sources go on; and at the `maxAttempts`th failure of the same
 * message it is parked (its original bytes, the reason and where it came from, in the parked-message
 * stream) and acknowledged, so the source moves on. If even parking fails (Redis down), the message stays
 * where it is and is tried again after the backoff: never dropped.
 */
import type { Logger } from '../logger.js';
import type { Clock, ParkedMessages } from '../services/ports.js';
import { type Admission, admit, type IntakeOptions, type RawTopicMessage } from './admit.js';

/** First pause of a source after a failed admission; doubles with each further failure. */
export const INTAKE_BACKOFF_BASE_MS = 1_000;
/** Longest pause of a source: a dead-letter topic that comes back is used within this. */
export const INTAKE_BACKOFF_MAX_MS = 30_000;
/** Messages whose failures are remembered at once; the head of each source is the only one retried. */
const TRACKED_MESSAGES = 1_000;

export interface IntakeFailureOptions {
  /** Where a message that failed `maxAttempts` times goes. */
  parked: ParkedMessages;
  /** Failed admissions of one message before it is parked (`INTAKE_MAX_ATTEMPTS`). */
  maxAttempts: number;
  /** Each failure, for the metric: `retry` (given back) or `parked`. */
  onFailure?: (source: string, outcome: 'retry' | 'parked') => void;
  /** @default INTAKE_BACKOFF_BASE_MS */
  backoffBaseMs?: number;
}

export type GuardedAdmission = Admission | { kind: 'parked'; reason: string };

export class IntakeGuard {
  private readonly attempts = new Map<string, number>();
  private pausedUntil = 0;

  constructor(
    /** The source's name in logs and metrics (`kafka`, `redis`, `local`). */
    private readonly source: string,
    private readonly intake: IntakeOptions & { clock: Clock; failures: IntakeFailureOptions },
  ) {}

  private get logger(): Logger {
    return this.intake.logger;
  }

  /** How long the source should wait before handing out its head message again; 0 when not paused. */
  pauseLeft(): number {
    return Math.max(0, this.pausedUntil - this.intake.clock.now());
  }

  /**
   * Waits out the source's pause, until `deadline` (epoch ms by the clock) at most.
   * @returns false when the source is still paused at the deadline (hand nothing out).
   */
  async waitOut(deadline: number): Promise<boolean> {
    // A loop, not one sleep: a timer may fire a millisecond before the clock says the pause is over.
    for (;;) {
      const left = this.pauseLeft();
      if (left === 0) return true;
      const wait = Math.min(left, deadline - this.intake.clock.now());
      if (wait <= 0) return false;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /**
   * `admit` with failure accounting.
   * @throws the admission's error when the message is to be given back and tried again later.
   */
  async admit(message: RawTopicMessage): Promise<GuardedAdmission> {
    try {
      const admission = await admit(message, this.intake);
      this.attempts.delete(message.origin);
      return admission;
    } catch (error) {
      const { failures } = this.intake;
      const attempt = (this.attempts.get(message.origin) ?? 0) + 1;
      this.attempts.delete(message.origin);
      const reason = `intake failed ${attempt} times: ${errorText(error)}`;
      const context = { source: this.source, from: message.from, attempt, maxAttempts: failures.maxAttempts };
      if (attempt >= failures.maxAttempts) {
        try {
          await failures.parked.park({
            key: message.key,
            value: message.value,
            reason,
            from: message.from,
            at: this.intake.clock.now(),
          });
          failures.onFailure?.(this.source, 'parked');
          this.logger.error(
            { ...context, err: error },
            'topic message parked after repeated intake failures; going on with the next one',
          );
          return { kind: 'parked', reason };
        } catch (parkError) {
          this.logger.error(
            { ...context, err: parkError },
            'could not park a topic message; it stays at the head of its source',
          );
        }
      }
      this.remember(message.origin, attempt);
      failures.onFailure?.(this.source, 'retry');
      const pauseMs = Math.min(
        INTAKE_BACKOFF_MAX_MS,
        (failures.backoffBaseMs ?? INTAKE_BACKOFF_BASE_MS) * 2 ** Math.min(attempt - 1, 16),
      );
      this.pausedUntil = this.intake.clock.now() + pauseMs;
      this.logger.warn(
        { ...context, pauseMs, err: error },
        'topic message intake failed; it goes back to its source, which pauses before trying again',
      );
      throw error;
    }
  }

  private remember(origin: string, attempt: number): void {
    this.attempts.set(origin, attempt);
    if (this.attempts.size > TRACKED_MESSAGES) {
      const oldest = this.attempts.keys().next().value;
      if (oldest !== undefined) this.attempts.delete(oldest);
    }
  }
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 200);
}
