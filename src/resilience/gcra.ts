/**
 * The Generic Cell Rate Algorithm for two budgets at once (requests and tokens per minute), as pure
 * functions over a small state. The in-memory limiter runs these; the Redis limiter runs the same
 * arithmetic in Lua (`src/services/redis/rate-limiter.ts`), and one contract suite holds both to it.
 *
 * Each budget keeps a theoretical arrival time (TAT): when the budget will be back to full. A request of
 * cost c adds c * interval to it and is allowed at the first time t with TAT - t <= tolerance - c *
 * interval, so right after a grant at t, TAT - t <= tolerance. With tolerance = burst * interval, a full
 * budget lets exactly `burst` requests go back to back (not burst + 1), and as every grant adds one
 * interval, n grants span at least (n - burst) intervals: a window of length W (ends included) holds at
 * most burst + floor(W / interval) grants, whatever the pattern of idle spells and bursts.
 *
 * The interval pays for the burst within the minute: interval = 60 s / (rpm - burst), the burst being
 * at most a tenth of rpm (`MAX_REQUEST_BURST_SHARE`, at least 1). So:
 *   - any window of 60 s holds at most burst + (rpm - burst) = rpm grants, and rpm + 1 grants span
 *     60 s plus a whole interval, slack for the delay between a grant and the provider counting the call;
 *   - saturated, the budget grants rpm - burst a minute (plus the burst after an idle spell);
 *   - rpm 1 leaves nothing to pay for even a burst of one: its grants go two minutes apart.
 * Tokens alike: each token adds 60 s / (tpm - tokenBurst), so the tokens reserved in any window of 60 s
 * are at most tpm, with one exception. A request dearer than the whole token burst could never go
 * within the tolerance; it is allowed once its budget is full and pushes the TAT far ahead, so the
 * long-run rate still holds, but a window of 60 s in which it is the last grant may hold up to
 * tpm - tokenBurst + its cost. (Tokens a call used beyond its reservation are charged when it settles,
 * after it ran: they delay later grants instead.)
 *
 * Times are whole microseconds, as Redis's TIME gives them, and every increment is rounded up to a
 * whole one, so the arithmetic is exact: no drift over millions of grants. For requests, rounding only
 * ever delays a grant (the rate is rounded down by less than (rpm - burst) / 60,000,000: 0.1 % at 60,000
 * a minute, 1.6 % at a million). The token tolerance is rounded up too, so that a burst split into
 * several requests still goes at once; it admits less than one microsecond's worth of tokens more, which
 * is less than one token (so none, counts being whole) while tpm - tokenBurst < 60,000,000.
 *
 * Grants are reservations: a request that must wait is given its future slot at once and sleeps until
 * then, so waiters are served in order with one round trip each, instead of polling.
 */

/** Requests that may go back to back after an idle spell. */
export const DEFAULT_REQUEST_BURST = 3; // a few, so a restart or a quiet minute never lets a full minute's quota out at once

/**
 * The clocks the limiters read tick in whole milliseconds, so requests cannot be spaced closer than one
 * tick: above 180,000 rpm (3 a millisecond) the default burst is one millisecond's worth of requests,
 * otherwise every request after the third within a tick would sleep a whole millisecond for a slot a few
 * microseconds away.
 */
const MS_PER_MINUTE = 60_000;

/**
 * The largest share of `requestsPerMinute` the request burst may take (it is at least one request).
 * Paying for the burst costs its size in sustained requests a minute, so below 20 a minute it is 1.
 */
export const MAX_REQUEST_BURST_SHARE = 0.1;

/** The length of the window both quotas are counted over. */
export const RATE_WINDOW_US = 60_000_000;

export interface RateLimitSettings {
  /** Requests per minute: no window of 60 s gets more grants. */
  requestsPerMinute: number;
  /** Input plus output tokens per minute (see the exception for a request dearer than the token burst). */
  tokensPerMinute: number;
  /**
   * Requests that may go back to back after an idle spell, at most a tenth of `requestsPerMinute`
   * (`MAX_REQUEST_BURST_SHARE`) and at least 1. @default 3, or one millisecond's worth above 180,000 rpm
   */
  requestBurst?: number;
  /**
   * Tokens that may go back to back, at most half of `tokensPerMinute`. @default the tokens of
   * `requestBurst` average requests (`tokensPerMinute / requestsPerMinute * requestBurst`)
   */
  tokenBurst?: number;
}

/** The limits a provider's config implies (its RPM and TPM, shared by every daemon on the same Redis). */
export function rateLimitSettingsFor(provider: { rpm: number; tpm: number }): RateLimitSettings {
  return { requestsPerMinute: provider.rpm, tokensPerMinute: provider.tpm };
}

/** The bursts in effect, and the intervals and tolerances that follow from them, in microseconds. */
export interface GcraParams {
  /** Requests that go back to back from a full budget. */
  requestBurst: number;
  /** Whole microseconds each request adds: 60 s / (rpm - requestBurst), rounded up. */
  requestIntervalUs: number;
  /** `requestBurst * requestIntervalUs`. */
  requestToleranceUs: number;
  /** Tokens that fit in the tolerance. */
  tokenBurst: number;
  /** Microseconds each token adds, 60 s / (tpm - tokenBurst) (a request's total is rounded up). */
  tokenIntervalUs: number;
  /** `tokenBurst * tokenIntervalUs`, rounded up like the increments, so the burst fits however it is split. */
  tokenToleranceUs: number;
}

export function gcraParams(settings: RateLimitSettings): GcraParams {
  const { requestsPerMinute: rpm, tokensPerMinute: tpm } = settings;
  if (!(rpm > 0) || !(tpm > 0)) throw new RangeError('requests and tokens per minute must be positive');
  const requestBurst = Math.max(
    1,
    Math.min(
      Math.floor(settings.requestBurst ?? Math.max(DEFAULT_REQUEST_BURST, Math.ceil(rpm / MS_PER_MINUTE))),
      Math.floor(rpm * MAX_REQUEST_BURST_SHARE),
    ),
  );
  // Only a quota under 2 a minute reaches the floor of half: with no room to pay even for a burst of
  // one, its grants go two minutes apart, so that no minute holds two.
  const requestIntervalUs = Math.ceil(RATE_WINDOW_US / Math.max(rpm - requestBurst, rpm / 2));
  // At most half, so that what is left of the quota pays for it (the default is under half but at 1 rpm).
  const tokenBurst = Math.min(Math.max(1, settings.tokenBurst ?? (tpm / rpm) * requestBurst), tpm / 2);
  const tokenIntervalUs = RATE_WINDOW_US / (tpm - tokenBurst);
  return {
    requestBurst,
    requestIntervalUs,
    requestToleranceUs: requestBurst * requestIntervalUs,
    tokenBurst,
    tokenIntervalUs,
    tokenToleranceUs: Math.ceil(tokenBurst * tokenIntervalUs),
  };
}

/** What `tokens` add to the token TAT: rounded up, as the Lua script does it. */
export function tokenIncrementUs(params: GcraParams, tokens: number): number {
  return Math.ceil(params.tokenIntervalUs * tokens);
}

/** One key's state, in whole microseconds on the clock the limiter uses. A fresh key is all zeros. */
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
  maxWaitUs: number;
  /** The slot granted earlier to this caller, confirmed after its wait unless a penalty now covers it. */
  previousSlotUs?: number;
}

export type ReservationUs =
  /** Granted at `slotUs`, which is `waitUs` from now. */
  | { granted: true; waitUs: number; slotUs: number }
  /** Would need `waitUs`, more than allowed; nothing was reserved. */
  | { granted: false; waitUs: number };

/** In milliseconds, what a backend answers (`slotAt` on the limiter's own time base). */
export type Reservation =
  | { granted: true; waitMs: number; slotAt: number }
  | { granted: false; waitMs: number };

const US_PER_MS = 1000;

export const toMicroseconds = (ms: number): number => Math.round(ms * US_PER_MS);

export function toReservation(reservation: ReservationUs): Reservation {
  const waitMs = Math.max(0, reservation.waitUs) / US_PER_MS;
  return reservation.granted
    ? { granted: true, waitMs, slotAt: reservation.slotUs / US_PER_MS }
    : { granted: false, waitMs };
}

/** The earliest time a budget with this TAT admits an increment `inc`. */
function earliest(tat: number, inc: number, tolerance: number): number {
  return tat - Math.max(0, tolerance - inc);
}

/** Reserves the earliest slot both budgets allow, if it is within `maxWaitUs`; returns the new state. */
export function gcraReserve(
  state: GcraState,
  params: GcraParams,
  nowUs: number,
  request: ReserveRequest,
): { reservation: ReservationUs; state: GcraState } {
  if (request.previousSlotUs !== undefined && state.penaltyUntil <= request.previousSlotUs) {
    return { reservation: { granted: true, waitUs: 0, slotUs: request.previousSlotUs }, state };
  }
  const requestInc = params.requestIntervalUs * request.requests;
  const tokenInc = tokenIncrementUs(params, request.tokens);
  const slotUs = Math.max(
    nowUs,
    state.penaltyUntil,
    earliest(state.requestTat, requestInc, params.requestToleranceUs),
    earliest(state.tokenTat, tokenInc, params.tokenToleranceUs),
  );
  const waitUs = slotUs - nowUs;
  if (waitUs > request.maxWaitUs) return { reservation: { granted: false, waitUs }, state };
  return {
    reservation: { granted: true, waitUs, slotUs },
    state: {
      requestTat: Math.max(state.requestTat, slotUs) + requestInc,
      tokenTat: Math.max(state.tokenTat, slotUs) + tokenInc,
      penaltyUntil: state.penaltyUntil,
    },
  };
}

/**
 * Corrects the token budget from the `reservedTokens` a grant charged to the `actualTokens` the call
 * used: a refund or an extra charge. Both are rounded as the reservation was, so a full refund takes
 * back exactly what the reservation added.
 */
export function gcraSettle(
  state: GcraState,
  params: GcraParams,
  nowUs: number,
  reservedTokens: number,
  actualTokens: number,
): GcraState {
  const deltaUs = tokenIncrementUs(params, actualTokens) - tokenIncrementUs(params, reservedTokens);
  return { ...state, tokenTat: Math.max(Math.max(state.tokenTat, nowUs) + deltaUs, nowUs) };
}

/** Holds every grant off until `nowUs + forUs` (never shortens a longer penalty). */
export function gcraPenalize(state: GcraState, nowUs: number, forUs: number): GcraState {
  return { ...state, penaltyUntil: Math.max(state.penaltyUntil, nowUs + Math.max(0, forUs)) };
}
