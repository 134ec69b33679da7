/**
 * How each provider's breaker starts: from the last report published for that provider in the
 * `BreakerStateStore` (see `breaker-publisher.ts`; with Redis, the hash `<prefix>:breakers`). A breaker that this daemon before a
 * restart, or another daemon, saw open starts open with the same `openedAt`, so the new process does not
 * send a burst of calls to a provider known to be down; it half-opens at `openedAt` + cool-down and probes
 * as usual. Anything else starts closed: no report, a closed one, an old one, one without a snapshot
 * (written before reports carried it) or with a snapshot this build cannot read. In the embedded mode
 * the store is the process's own, empty at start, so every breaker starts closed.
 */
import type { Snapshot } from 'xstate';
import type { BreakerReport } from '../events.js';
import type { Logger } from '../logger.js';
import type { BreakerStateStore, Clock } from '../services/ports.js';
import { openSnapshotFrom, parseVersionedBreakerSnapshot } from './breaker-snapshot.js';

/** How long past its probe time a stored opening is still followed, in cool-downs. */
export const STALE_AFTER_COOLDOWNS = 1; // that recently down, the provider gets one probe before a burst; older says nothing of now

export interface BreakerStartSettings {
  /** This process's `breakerFailureThreshold`. */
  threshold: number;
  /** This process's `breakerCooldownMs`: the probe goes at the stored `openedAt` plus this. */
  cooldownMs: number;
  /** Epoch ms, from the injected clock. */
  now: number;
}

export type BreakerStart =
  | {
      start: 'open';
      /** For `CircuitBreakerOptions.snapshot`. */
      snapshot: Snapshot<unknown>;
      openedAt: number;
      /** When the breaker half-opens and lets one probe through. */
      probeAt: number;
      /** The process whose report it came from. */
      reportedBy: string;
    }
  | { start: 'closed'; reason: string };

const closed = (reason: string): BreakerStart => ({ start: 'closed', reason });

/**
 * How a breaker starts, given its provider's last report. The restored breaker takes this process's
 * threshold and cool-down (a restart is how a changed setting takes effect); only `openedAt` comes from
 * the report. A half-open report restores as open too: the probe in flight belonged to the other process,
 * and its cool-down being over, the first call here becomes the probe.
 */
export function breakerStartFor(
  report: BreakerReport | undefined,
  settings: BreakerStartSettings,
): BreakerStart {
  if (!report) return closed('no report');
  if (report.state === 'closed') return closed('reported closed');
  if (report.persisted === undefined) return closed('the report has no snapshot');
  const parsed = parseVersionedBreakerSnapshot(report.persisted);
  if (!parsed.ok) return closed(`unreadable snapshot (${parsed.reason})`);
  const { value, context } = parsed.value.snapshot;
  if (value === 'closed' || context.openedAt === null) return closed('reported closed');
  // A reporter whose clock runs ahead of ours must not keep this breaker open longer than one cool-down.
  const openedAt = Math.min(context.openedAt, settings.now);
  const probeAt = openedAt + settings.cooldownMs;
  if (settings.now >= probeAt + STALE_AFTER_COOLDOWNS * settings.cooldownMs) return closed('stale');
  const snapshot = openSnapshotFrom(parsed.value, {
    threshold: settings.threshold,
    cooldownMs: settings.cooldownMs,
    // As the machine pins it on opening.
    failures: settings.threshold,
    openedAt,
  });
  return { start: 'open', snapshot, openedAt, probeAt, reportedBy: report.instance };
}

export interface RestoreBreakersOptions {
  store: BreakerStateStore;
  /** The providers whose breakers are being built. */
  providers: Iterable<string>;
  threshold: number;
  cooldownMs: number;
  clock: Clock;
  logger: Logger;
}

/**
 * Snapshots to start breakers from, by provider: only providers whose breaker starts open are present.
 * Reading is best effort, like publishing: if the store does not answer, every breaker starts closed.
 */
export async function restoreBreakers(
  options: RestoreBreakersOptions,
): Promise<Map<string, Snapshot<unknown>>> {
  const { logger } = options;
  const snapshots = new Map<string, Snapshot<unknown>>();
  let reports: Record<string, BreakerReport>;
  try {
    reports = await options.store.readAll();
  } catch (err) {
    logger.warn({ err }, 'could not read the stored breaker states; every breaker starts closed');
    return snapshots;
  }
  const now = options.clock.now();
  for (const provider of options.providers) {
    const report = reports[provider];
    const start = breakerStartFor(report, {
      threshold: options.threshold,
      cooldownMs: options.cooldownMs,
      now,
    });
    if (start.start === 'open') {
      snapshots.set(provider, start.snapshot);
      logger.info(
        {
          provider,
          openedAt: new Date(start.openedAt).toISOString(),
          probeAt: new Date(start.probeAt).toISOString(),
          reportedBy: start.reportedBy,
        },
        `circuit breaker for ${provider} starts open from its stored state`,
      );
    } else if (report) {
      logger.debug({ provider, reason: start.reason }, `circuit breaker for ${provider} starts closed`);
    }
  }
  return snapshots;
}
