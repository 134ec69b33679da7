/**
 * Breaker states shared between daemons through the `BreakerStateStore`, so `chimera status` (another
 * process) can show them and a daemon that starts later can start its breakers from them
 * (`breaker-restore.ts`): each daemon reports every breaker's state when it starts publishing and on every
 * change, one report per provider. Breakers are per process; with several daemons the store holds the
 * latest change any of them reported, with the reporting instance named. Best effort: a failed write is
 * logged and the next change writes again; it never affects a model call.
 */
import type { BreakerReport } from '../events.js';
import type { Logger } from '../logger.js';
import type { CircuitBreakerState } from '../machines/circuit-breaker.js';
import { type BreakerStateStore, type Clock, systemClock } from '../services/ports.js';
import { versionedBreakerSnapshot } from './breaker-snapshot.js';
import type { ProviderBreaker } from './provider-breaker.js';

export interface BreakerPublisherOptions {
  store: BreakerStateStore;
  /** This daemon's id, named in each report. */
  instance: string;
  /** The breakers by provider name. */
  breakers: ReadonlyMap<string, ProviderBreaker>;
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
  let pending: Promise<void> = Promise.resolve();

  const write = (name: string, breaker: ProviderBreaker, state: CircuitBreakerState) => {
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
        await options.store.write(name, report);
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
