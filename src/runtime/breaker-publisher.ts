/**
 * Breaker states shared through Redis, so `chimera status` (another process) can show them and a daemon
 * that starts later can start its breakers from them (`breaker-restore.ts`): each daemon writes every
 * breaker's state to the hash `<prefix>:breakers` when it starts publishing and on every change, one field
 * per provider. Breakers are per process; with several daemons the field holds the latest change any of
 * them reported, with the reporting instance named. Best effort: a failed write is logged and the next
 * change writes again; it never affects a model call.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import type { CircuitBreakerState } from '../machines/circuit-breaker.js';
import { versionedBreakerSnapshot } from '../resilience/breaker-snapshot.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { type Clock, systemClock } from '../services/ports.js';

/** The hash holding one field per provider. */
export function breakersKey(keyPrefix: string): string {
  return `${keyPrefix}:breakers`;
}

export const breakerReportSchema = z.object({
  state: z.enum(['closed', 'open', 'halfOpen']),
  /** Epoch ms of the report (the state change, or the start of publishing). */
  since: z.number(),
  /** The daemon that reported it (`config.instanceId`). */
  instance: z.string(),
  /** Consecutive retryable failures counted by that daemon's breaker. */
  failures: z.number().int().nonnegative(),
  /** Epoch ms the breaker last opened; null while closed. */
  openedAt: z.number().nullable(),
  /** When an open breaker lets one probe through. */
  cooldownMs: z.number().nonnegative(),
  /**
   * The breaker's versioned persisted snapshot (`breaker-snapshot.ts`), validated only when a breaker is
   * started from it, so a report from another build still shows in `status`. Absent in reports written
   * before it was added.
   */
  persisted: z.unknown().optional(),
});

export type BreakerReport = z.infer<typeof breakerReportSchema>;

export interface BreakerPublisherOptions {
  redis: Redis;
  /** `config.redis.keyPrefix`. */
  keyPrefix: string;
  /** This daemon's id, named in each report. */
  instance: string;
  /** The breakers by provider name (`chimera.adapters.breakers`). */
  breakers: ReadonlyMap<string, CircuitBreaker>;
  /** @default systemClock */
  clock?: Clock;
  /** Where failed writes are reported. @default none */
  logger?: Logger;
}

export interface BreakerPublisher {
  /** Resolves when every write issued so far has finished (succeeded or been logged). */
  flush(): Promise<void>;
  /** Stops listening for changes; what was written stays. */
  stop(): void;
}

/** Writes each breaker's state now and on every change. */
export function publishBreakerStates(options: BreakerPublisherOptions): BreakerPublisher {
  const clock = options.clock ?? systemClock;
  const key = breakersKey(options.keyPrefix);
  let pending: Promise<void> = Promise.resolve();

  const write = (name: string, breaker: CircuitBreaker, state: CircuitBreakerState) => {
    const report: BreakerReport = {
      state,
      since: clock.now(),
      instance: options.instance,
      failures: breaker.context.failures,
      openedAt: breaker.context.openedAt,
      cooldownMs: breaker.context.cooldownMs,
      persisted: versionedBreakerSnapshot(breaker),
    };
    // Chained, so one daemon's writes for a provider land in the order its states changed.
    pending = pending.then(async () => {
      try {
        await options.redis.hset(key, name, JSON.stringify(report));
      } catch (err) {
        options.logger?.warn({ err, provider: name }, 'publishing a breaker state failed');
      }
    });
  };

  const unsubscribers: Array<() => void> = [];
  for (const [name, breaker] of options.breakers) {
    write(name, breaker, breaker.state);
    unsubscribers.push(breaker.subscribe((state) => write(name, breaker, state)));
  }
  return {
    flush: () => pending,
    stop: () => {
      for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
    },
  };
}

/** Every provider's last reported breaker state; a field that does not parse is left out. */
export async function readBreakerStates(
  redis: Redis,
  keyPrefix: string,
): Promise<Record<string, BreakerReport>> {
  const fields = await redis.hgetall(breakersKey(keyPrefix));
  const out: Record<string, BreakerReport> = {};
  for (const [name, text] of Object.entries(fields)) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // Written by something else; status shows the provider without a breaker state.
      continue;
    }
    const parsed = breakerReportSchema.safeParse(json);
    if (parsed.success) out[name] = parsed.data;
  }
  return out;
}
