/**
 * Readiness: whether this daemon should receive work now. It is ready when it is running (not starting,
 * not draining) and every check passes: Redis and Kafka answer when configured, and at least one provider
 * is usable. Each check is bounded in time, so a hung dependency makes the probe fail instead of hang.
 */
import type { Logger } from '../logger.js';
import { scrubString } from '../redact.js';

/**
 * Why a check failed: a `code` for the probe's body (snake_case, no host names, addresses or driver text:
 * the body is served to whoever can reach the port), and a `detail` for the log only.
 */
export interface CheckFailure {
  code: string;
  detail?: string;
}

/** One dependency's verdict: `null` when it is fine, else why not. */
export interface ReadinessCheck {
  readonly name: string;
  run(): Promise<CheckFailure | null>;
  /** Releases what the check holds (its own connections). */
  close?(): Promise<void>;
}

export type ReadinessPhase = 'starting' | 'running' | 'draining';

export interface ReadinessReport {
  ready: boolean;
  phase: ReadinessPhase;
  /** Every check by name: `ok` or the code of its failure. */
  checks: Record<string, string>;
  /** Why the daemon is not ready: the phase, and `check: code` for each failing check; empty when ready. */
  reasons: string[];
}

export interface ReadinessOptions {
  checks?: ReadinessCheck[];
  /**
   * Longest a single check may take before it counts as failed.
   * @default DEFAULT_CHECK_TIMEOUT_MS
   */
  checkTimeoutMs?: number;
  /** Told each failure's detail when a check's verdict changes (the body carries the code only). @default none */
  logger?: Logger;
}

/** Well under the 1 s default probe timeout of Kubernetes is too tight for a TLS Kafka round trip; 2 s fits both. */
export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

function bounded(check: ReadinessCheck, timeoutMs: number): Promise<CheckFailure | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckFailure>((resolve) => {
    timer = setTimeout(
      () => resolve({ code: 'timeout', detail: `did not answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const run = check.run().catch(
    (error: unknown): CheckFailure => ({
      code: 'check_failed',
      detail: error instanceof Error ? error.message : String(error),
    }),
  );
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
}

export class Readiness {
  private readonly checks: ReadinessCheck[];
  private readonly checkTimeoutMs: number;
  private readonly logger: Logger | undefined;
  /** The last code each check reported (`ok` when fine), so a detail is logged once per change. */
  private readonly last = new Map<string, string>();
  private current: ReadinessPhase = 'starting';
  private inFlight: Promise<ReadinessReport> | undefined;

  constructor(options: ReadinessOptions = {}) {
    this.checks = [...(options.checks ?? [])];
    this.checkTimeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
    this.logger = options.logger;
  }

  get phase(): ReadinessPhase {
    return this.current;
  }

  set phase(phase: ReadinessPhase) {
    this.current = phase;
  }

  /** Adds a check, e.g. one that needs the service to exist first. */
  add(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  /** Runs every check (concurrent probes share one run, so a burst of probes is one round of pings). */
  report(): Promise<ReadinessReport> {
    this.inFlight ??= this.evaluate().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  async close(): Promise<void> {
    await Promise.all(this.checks.map((check) => check.close?.().catch(() => {})));
  }

  private async evaluate(): Promise<ReadinessReport> {
    const phase = this.current;
    const verdicts = await Promise.all(this.checks.map((check) => bounded(check, this.checkTimeoutMs)));
    const checks: Record<string, string> = {};
    const reasons: string[] = [];
    if (phase !== 'running') reasons.push(phase);
    this.checks.forEach((check, i) => {
      const verdict = verdicts[i];
      const code = verdict ? verdict.code : 'ok';
      const previous = this.last.get(check.name);
      if (previous !== code) {
        this.last.set(check.name, code);
        // Driver messages can carry a connection string; nothing secret reaches the log either.
        if (verdict) {
          const detail = verdict.detail === undefined ? undefined : scrubString(verdict.detail);
          this.logger?.warn(
            { check: check.name, code, detail },
            `readiness check ${check.name} failed: ${code}`,
          );
        } else if (previous !== undefined) {
          this.logger?.info({ check: check.name }, `readiness check ${check.name} passes`);
        }
      }
      checks[check.name] = code;
      if (verdict) reasons.push(`${check.name}: ${code}`);
    });
    return { ready: reasons.length === 0, phase, checks, reasons };
  }
}
