import type { CircuitBreakerState } from '../../machines/circuit-breaker.js';
import type { ReadinessCheck } from '../readiness.js';

/** What the check needs of a breaker: its current state. */
export interface BreakerView {
  readonly state: CircuitBreakerState;
}

/**
 * Ready while at least one provider can take a call: its breaker is closed or half-open. With every
 * breaker open the daemon can only wait out the cool-downs, so new work is better sent elsewhere.
 */
export function providersCheck(breakers: () => ReadonlyMap<string, BreakerView>): ReadinessCheck {
  return {
    name: 'providers',
    async run() {
      const all = [...breakers()];
      if (all.length === 0) return { code: 'no_provider', detail: 'no provider is configured' };
      if (all.some(([, breaker]) => breaker.state !== 'open')) return null;
      return {
        code: 'all_breakers_open',
        detail: `every circuit breaker is open (${all.map(([name]) => name).join(', ')})`,
      };
    },
  };
}
