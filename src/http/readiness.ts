/**
 * Readiness: whether this daemon should receive work now. It is ready when it is running (not starting,
 * not draining) and every check passes: Redis and Kafka answer when configured, and at least one provider
 * is usable. Each check is bounded in time, so a hung dependency makes the probe fail instead of hang.
 */
import { scrubString } from '../redact.js';

/** One dependency's verdict: `null` when it is fine, else a short reason naming what is wrong. */
export interface ReadinessCheck {
  readonly name: string;
  run(): Promise<string | null>;
  /** Releases what the check holds (its own connections). */
  close?(): Promise<void>;
}

export type ReadinessPhase = 'starting' | 'running' | 'draining';

export interface ReadinessReport {
  ready: boolean;
  phase: ReadinessPhase;
  /** Every check by name: `ok` or the reason it failed. */
  checks: Record<string, string>;
  /** Why the daemon is not ready, one line each; empty when ready. */
  reasons: string[];
}

export interface ReadinessOptions {
  checks?: ReadinessCheck[];
  /**
   * Longest a single check may take before it counts as failed.
   * @default DEFAULT_CHECK_TIMEOUT_MS
   */
  checkTimeoutMs?: number;
}

/** Well under the 1 s default probe timeout of Kubernetes is too tight for a TLS Kafka round trip; 2 s fits both. */
export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

function bounded(check: ReadinessCheck, timeoutMs: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`did not answer within ${timeoutMs} ms`), timeoutMs);
  });
  const run = check.run().catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
}

export class Readiness {
  private readonly checks: ReadinessCheck[];
  private readonly checkTimeoutMs: number;
  private current: ReadinessPhase = 'starting';
  private inFlight: Promise<ReadinessReport> | undefined;

  constructor(options: ReadinessOptions = {}) {
    this.checks = [...(options.checks ?? [])];
    this.checkTimeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
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
      if (verdict === null || verdict === undefined) {
        checks[check.name] = 'ok';
        return;
      }
      // Driver messages can carry a connection string; nothing secret leaves through the probe.
      const reason = scrubString(verdict);
      checks[check.name] = reason;
      reasons.push(`${check.name}: ${reason}`);
    });
    return { ready: reasons.length === 0, phase, checks, reasons };
  }
}
