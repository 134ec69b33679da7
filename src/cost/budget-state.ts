/**
 * The budget's rules as plain state and functions of (state, time), shared by the memory and journal
 * adapters (the Redis adapter runs the same rules in Lua, and one contract suite checks all three).
 */
import { assertNonNegativeMicros } from './money.js';
import {
  type BudgetSnapshot,
  HOUR_MINUTES,
  type ReserveOutcome,
  SETTLED_MEMORY_MS,
  type SettleOutcome,
  type SpendKey,
} from './ports.js';

export interface BudgetState {
  capMicros: number | null;
  /** The last configured cap applied ('none' for no cap), for `applyConfiguredCap`. */
  configuredCap: number | 'none';
  spentMicros: number;
  reservedMicros: number;
  expiredMicros: number;
  overrunMicros: number;
  reservations: Map<string, { micros: number; expiresAt: number }>;
  /** Settled ids by settle time. */
  settled: Map<string, number>;
  /** `provider\0model` -> micros. */
  spentBy: Map<string, number>;
  /** Minute (epoch ms / 60000) -> micros. */
  minutes: Map<number, number>;
  /** The last refused reservation since one was last granted (not journaled: a process's own view). */
  lastRefusal?: { worstCaseMicros: number; at: number };
}

export function emptyBudgetState(): BudgetState {
  return {
    capMicros: null,
    configuredCap: 'none',
    spentMicros: 0,
    reservedMicros: 0,
    expiredMicros: 0,
    overrunMicros: 0,
    reservations: new Map(),
    settled: new Map(),
    spentBy: new Map(),
    minutes: new Map(),
  };
}

export const spendKeyOf = (key: SpendKey) => `${key.provider}\u0000${key.model}`;

/** Drops reservations that lapsed by `now`, keeping their amounts as expired. */
export function expireReservations(state: BudgetState, now: number): void {
  for (const [id, reservation] of state.reservations) {
    if (reservation.expiresAt <= now) {
      state.reservations.delete(id);
      state.reservedMicros -= reservation.micros;
      state.expiredMicros += reservation.micros;
    }
  }
}

function forgetOld(state: BudgetState, now: number): void {
  for (const [id, at] of state.settled) if (at <= now - SETTLED_MEMORY_MS) state.settled.delete(id);
  const oldest = Math.floor(now / 60_000) - HOUR_MINUTES;
  for (const minute of state.minutes.keys()) if (minute <= oldest) state.minutes.delete(minute);
}

export function reserveIn(
  state: BudgetState,
  id: string,
  worstCaseMicros: number,
  ttlMs: number,
  now: number,
): ReserveOutcome {
  assertNonNegativeMicros(worstCaseMicros, 'worstCaseMicros');
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)
    throw new RangeError(`ttlMs must be a positive whole number (got ${ttlMs})`);
  expireReservations(state, now);
  const existing = state.reservations.get(id);
  if (existing) return { ok: true, duplicate: true, expiresAt: existing.expiresAt };
  if (state.settled.has(id)) return { ok: false, reason: 'already_settled' };
  if (
    state.capMicros !== null &&
    state.spentMicros + state.reservedMicros + worstCaseMicros > state.capMicros
  ) {
    state.lastRefusal = { worstCaseMicros, at: now };
    return {
      ok: false,
      reason: 'cap_reached',
      capMicros: state.capMicros,
      spentMicros: state.spentMicros,
      reservedMicros: state.reservedMicros,
      worstCaseMicros,
    };
  }
  const expiresAt = now + ttlMs;
  state.reservations.set(id, { micros: worstCaseMicros, expiresAt });
  state.reservedMicros += worstCaseMicros;
  state.lastRefusal = undefined;
  return { ok: true, duplicate: false, expiresAt };
}

export function settleIn(
  state: BudgetState,
  id: string,
  actualMicros: number,
  key: SpendKey,
  now: number,
): SettleOutcome {
  assertNonNegativeMicros(actualMicros, 'actualMicros');
  expireReservations(state, now);
  forgetOld(state, now);
  if (state.settled.has(id)) return 'duplicate';
  const reservation = state.reservations.get(id);
  if (reservation) {
    state.reservations.delete(id);
    state.reservedMicros -= reservation.micros;
    if (actualMicros > reservation.micros) state.overrunMicros += actualMicros - reservation.micros;
  }
  state.spentMicros += actualMicros;
  const k = spendKeyOf(key);
  state.spentBy.set(k, (state.spentBy.get(k) ?? 0) + actualMicros);
  const minute = Math.floor(now / 60_000);
  state.minutes.set(minute, (state.minutes.get(minute) ?? 0) + actualMicros);
  state.settled.set(id, now);
  return reservation ? 'settled' : 'unreserved';
}

export function releaseIn(state: BudgetState, id: string, now: number): boolean {
  expireReservations(state, now);
  const reservation = state.reservations.get(id);
  if (!reservation) return false;
  state.reservations.delete(id);
  state.reservedMicros -= reservation.micros;
  return true;
}

export function checkCap(capMicros: number | null): void {
  if (capMicros !== null) assertNonNegativeMicros(capMicros, 'capMicros');
}

export function applyConfiguredCapIn(state: BudgetState, capMicros: number | null): boolean {
  checkCap(capMicros);
  const configured = capMicros ?? 'none';
  if (configured === state.configuredCap) return false;
  state.configuredCap = configured;
  state.capMicros = capMicros;
  return true;
}

export function snapshotOf(state: BudgetState, now: number): BudgetSnapshot {
  expireReservations(state, now);
  const current = Math.floor(now / 60_000);
  let lastHour = 0;
  for (const [minute, micros] of state.minutes)
    if (minute > current - HOUR_MINUTES && minute <= current) lastHour += micros;
  const spentBy = [...state.spentBy].map(([k, micros]) => {
    const [provider, model] = k.split('\u0000') as [string, string];
    return { provider, model, micros };
  });
  spentBy.sort((a, b) =>
    a.provider < b.provider
      ? -1
      : a.provider > b.provider
        ? 1
        : a.model < b.model
          ? -1
          : a.model > b.model
            ? 1
            : 0,
  );
  return {
    capMicros: state.capMicros,
    spentMicros: state.spentMicros,
    reservedMicros: state.reservedMicros,
    reservations: state.reservations.size,
    spentLastHourMicros: lastHour,
    expiredMicros: state.expiredMicros,
    overrunMicros: state.overrunMicros,
    spentBy,
    lastRefusal: state.lastRefusal ? { ...state.lastRefusal } : null,
    at: now,
  };
}

/**
 * Whether the cap stops calls now: spend and live reservations leave less headroom than the last refused
 * call's worst case (no call fits that did not fit before), or than one micro-dollar (nothing fits). That
 * covers spend alone meeting the cap; the daemons' budget machine reopens on the same comparison.
 */
export function capReachedIn(snapshot: BudgetSnapshot): boolean {
  if (snapshot.capMicros === null) return false;
  const headroom = snapshot.capMicros - snapshot.spentMicros - snapshot.reservedMicros;
  return headroom < Math.max(1, snapshot.lastRefusal?.worstCaseMicros ?? 0);
}
