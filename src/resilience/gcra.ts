import type { ProviderConfig } from '../config.js';

/**
 * The Generic Cell Rate Algorithm for two budgets at once (requests and tokens per minute), as pure
 * functions over a small state. The in-memory limiter runs these; the Redis limiter runs the same
 * arithmetic in Lua (`src/services/redis/rate-limiter.ts`), and one contract suite holds both to it.
 *
 * Each budget keeps a theoretical arrival time (TAT): when the budget will be back to full. A request of
 * cost c advances it by c * interval and is allowed once TAT - now <= tolerance, where tolerance =
 * burst * interval. Grants in any window of length W are at most W / interval + burst: there is no window
 * edge at which the rate doubles. A single request dearer than the whole burst (a huge prompt) is allowed
 * once its budget is full and pushes TAT far ahead, so the long-run rate still holds.
 *
 * Grants are reservations: a request that must wait is given its future slot at once and sleeps until
 * then, so waiters are served in order with one round trip each, instead of polling.
 */

/** Requests that may go back to back after an idle spell. */
export const DEFAULT_REQUEST_BURST = 3; // a few, so a restart or a quiet minute never lets a full minute's quota out at once

export interface RateLimitSettings {
  /** Requests per minute. */
  requestsPerMinute: number;
  /** Input plus output tokens per minute. */
  tokensPerMinute: number;
  /** Requests that may go back to back after an idle spell. @default 3 */
  requestBurst?: number;
  /**
   * Tokens that may go back to back. @default the tokens of `requestBurst` average requests
   * (`tokensPerMinute / requestsPerMinute * requestBurst`)
   */
  tokenBurst?: number;
}

/** The limits a provider's config implies (its RPM and TPM, shared by every daemon on the same Redis). */
export function rateLimitSettingsFor(provider: Pick<ProviderConfig, 'rpm' | 'tpm'>): RateLimitSettings {
  return { requestsPerMinute: provider.rpm, tokensPerMinute: provider.tpm };
}

/** Intervals and tolerances in milliseconds. */
export interface GcraParams {
  requestIntervalMs: number;
  requestToleranceMs: number;
  tokenIntervalMs: number;
  tokenToleranceMs: number;
}

export function gcraParams(settings: RateLimitSettings): GcraParams {
  const { requestsPerMinute: rpm, tokensPerMinute: tpm } = settings;
  if (!(rpm > 0) || !(tpm > 0)) throw new RangeError('requests and tokens per minute must be positive');
  const requestBurst = Math.max(1, settings.requestBurst ?? DEFAULT_REQUEST_BURST);
  const tokenBurst = Math.max(1, settings.tokenBurst ?? (tpm / rpm) * requestBurst);
  const requestIntervalMs = 60_000 / rpm;
  const tokenIntervalMs = 60_000 / tpm;
  return {
    requestIntervalMs,
    requestToleranceMs: requestIntervalMs * requestBurst,
    tokenIntervalMs,
    tokenToleranceMs: tokenIntervalMs * tokenBurst,
  };
}

/** One key's state; all times are on the clock the limiter uses. A fresh key is all zeros. */
export interface GcraState {
  requestTat: number;
  tokenTat: number;
  /** Nothing is granted before this (a 429 came back). */
  penaltyUntil: number;
}

export const emptyGcraState = (): GcraState => ({ requestTat: 0, tokenTat: 0, penaltyUntil: 0 });

export interface ReserveRequest {
  requests: number;
  tokens: number;
  maxWaitMs: number;
  /** The slot granted earlier to this caller, confirmed after its wait unless a penalty now covers it. */
  previousSlot?: number;
}

export type Reservation =
  /** Granted at `slotAt`, which is `waitMs` from now. */
  | { granted: true; waitMs: number; slotAt: number }
  /** Would need `waitMs`, more than allowed; nothing was reserved. */
  | { granted: false; waitMs: number };

/** The earliest time a budget with this TAT admits an increment `inc`. */
function earliest(tat: number, inc: number, tolerance: number): number {
  return tat - Math.max(0, tolerance - inc);
}

/** Reserves the earliest slot both budgets allow, if it is within `maxWaitMs`; returns the new state. */
export function gcraReserve(
  state: GcraState,
  params: GcraParams,
  now: number,
  request: ReserveRequest,
): { reservation: Reservation; state: GcraState } {
  if (request.previousSlot !== undefined && state.penaltyUntil <= request.previousSlot) {
    return { reservation: { granted: true, waitMs: 0, slotAt: request.previousSlot }, state };
  }
  const requestInc = params.requestIntervalMs * request.requests;
  const tokenInc = params.tokenIntervalMs * request.tokens;
  const slotAt = Math.max(
    now,
    state.penaltyUntil,
    earliest(state.requestTat, requestInc, params.requestToleranceMs),
    earliest(state.tokenTat, tokenInc, params.tokenToleranceMs),
  );
  const waitMs = slotAt - now;
  if (waitMs > request.maxWaitMs) return { reservation: { granted: false, waitMs }, state };
  return {
    reservation: { granted: true, waitMs, slotAt },
    state: {
      requestTat: Math.max(state.requestTat, slotAt) + requestInc,
      tokenTat: Math.max(state.tokenTat, slotAt) + tokenInc,
      penaltyUntil: state.penaltyUntil,
    },
  };
}

/** Corrects the token budget by `deltaTokens` (actual minus reserved): a refund or an extra charge. */
export function gcraSettle(
  state: GcraState,
  params: GcraParams,
  now: number,
  deltaTokens: number,
): GcraState {
  const tokenTat = Math.max(Math.max(state.tokenTat, now) + deltaTokens * params.tokenIntervalMs, now);
  return { ...state, tokenTat };
}

/** Holds every grant off until `now + forMs` (never shortens a longer penalty). */
export function gcraPenalize(state: GcraState, now: number, forMs: number): GcraState {
  return { ...state, penaltyUntil: Math.max(state.penaltyUntil, now + Math.max(0, forMs)) };
}
