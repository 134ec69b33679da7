/**
 * A reference model of a provider's circuit breaker, written from the README's description and not from
 * the machine's code, over a small abstract state. `sinceOpened` is how long ago it last opened, so the
 * model needs no clock: time passes through `elapse`.
 *
 *   - closed: a retryable failure counts; at the threshold the breaker opens. A success resets the count.
 *     Failures that are not retryable (a bad request, a spent quota) say nothing about the provider.
 *   - open: nothing gets through; once a cool-down has passed since it opened, it is half-open. Time keeps
 *     passing while a process is down: a restart after the cool-down finds it half-open.
 *   - half-open: one call may take the probe slot; its success closes the breaker, a retryable failure
 *     opens it again for a full cool-down from then, any other failure frees the slot for the next probe.
 */

export type BreakerPhase = 'closed' | 'open' | 'halfOpen.idle' | 'halfOpen.probing';

export interface ExpectedBreaker {
  phase: BreakerPhase;
  failures: number;
  /** Milliseconds since the breaker last opened; null while it never opened since last closing. */
  sinceOpened: number | null;
}

export type BreakerWorldEvent =
  | { kind: 'success' }
  | { kind: 'failure'; retryable: boolean }
  | { kind: 'probe' }
  /** Time passes (waiting, or a process down for a restart). */
  | { kind: 'elapse'; ms: number };

export interface BreakerSettings {
  threshold: number;
  cooldownMs: number;
}

export const closedBreaker: ExpectedBreaker = { phase: 'closed', failures: 0, sinceOpened: null };

export function breakerStep(
  state: ExpectedBreaker,
  event: BreakerWorldEvent,
  { threshold, cooldownMs }: BreakerSettings,
): ExpectedBreaker {
  if (event.kind === 'elapse') {
    if (state.sinceOpened === null) return state;
    const sinceOpened = state.sinceOpened + event.ms;
    if (state.phase === 'open' && sinceOpened >= cooldownMs)
      return { ...state, phase: 'halfOpen.idle', sinceOpened };
    return { ...state, sinceOpened };
  }
  switch (state.phase) {
    case 'closed':
      if (event.kind === 'success') return { ...state, failures: 0 };
      if (event.kind === 'failure' && event.retryable) {
        const failures = state.failures + 1;
        return failures >= threshold
          ? { phase: 'open', failures: threshold, sinceOpened: 0 }
          : { ...state, failures };
      }
      return state;
    case 'open':
      return state;
    case 'halfOpen.idle':
      return event.kind === 'probe' ? { ...state, phase: 'halfOpen.probing' } : state;
    case 'halfOpen.probing':
      if (event.kind === 'success') return closedBreaker;
      if (event.kind === 'failure')
        return event.retryable
          ? { phase: 'open', failures: threshold, sinceOpened: 0 }
          : { ...state, phase: 'halfOpen.idle' };
      return state;
  }
}
