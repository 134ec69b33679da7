/**
 * The budget port: a spending cap shared by everything that calls models. (It joins the other ports in
 * `src/services/ports.ts` once the composition root is one file.) Adapters: memory (embedded mode), Redis
 * (every daemon on one Redis shares the cap), journal (a resumable `generate` run).
 *
 * The rule: a call reserves its worst case before it is sent, and a reservation is granted only if
 * spent + reserved + worst case <= cap. The call's actual cost then replaces the reservation (`settle`),
 * or the reservation is dropped unused (`release`). As the actual cost never exceeds the worst case,
 * spent never exceeds the cap. A reservation whose process died lapses after its TTL, so it cannot hold
 * the cap forever; what it held is kept in `expiredMicros` (possibly spent, never settled).
 */

/** Whom a charge is for: spend is reported per provider and model. */
export interface SpendKey {
  provider: string;
  model: string;
}

export interface ReserveOptions {
  /**
   * How long the reservation holds if neither settled nor released. Longer than the call can take
   * (timeout and rate-limit wait): a reservation that lapses while its call runs frees headroom the call
   * will still use. @default DEFAULT_RESERVATION_TTL_MS (10 minutes)
   */
  ttlMs?: number;
}

/** Long enough for the slowest call (PROVIDER_TIMEOUT_SECONDS, 60 s, after a rate-limit wait of 120 s). */
export const DEFAULT_RESERVATION_TTL_MS = 10 * 60_000;

export type ReserveOutcome =
  | {
      ok: true;
      /** The reservation existed already (a retried reserve): nothing more was reserved. */
      duplicate: boolean;
      expiresAt: number;
    }
  | {
      ok: false;
      reason: 'cap_reached';
      capMicros: number;
      spentMicros: number;
      reservedMicros: number;
      worstCaseMicros: number;
    }
  | {
      ok: false;
      /** This id was settled already: a finished call cannot be reserved again. */
      reason: 'already_settled';
    };

/**
 * `settled`: the reservation became spend. `unreserved`: no live reservation had that id (it lapsed or was
 * released): the cost is spent all the same. `duplicate`: that id was settled before; nothing changed.
 */
export type SettleOutcome = 'settled' | 'unreserved' | 'duplicate';

export interface BudgetSnapshot {
  /** Null: no cap. */
  capMicros: number | null;
  /** Settled costs, all time (since the store was created). */
  spentMicros: number;
  /** Live reservations' worst cases. */
  reservedMicros: number;
  reservations: number;
  /** Settled in the current minute and the 59 before it. */
  spentLastHourMicros: number;
  /** Worst cases of reservations that lapsed unsettled (a dead process's calls; maybe spent). */
  expiredMicros: number;
  /** Settled costs above their reservation (a worst case that was not one). */
  overrunMicros: number;
  /** Settled costs per provider and model, sorted by provider then model. */
  spentBy: Array<SpendKey & { micros: number }>;
  /**
   * The last reservation the cap refused since one was last granted: its worst case and when (the store's
   * clock). `status` reads the cap as reached while the headroom left could not take it. Null: none (in
   * the journal and in memory, none since the process started).
   */
  lastRefusal: { worstCaseMicros: number; at: number } | null;
  /** When the snapshot was taken (the store's clock). */
  at: number;
}

export interface BudgetStore {
  /**
   * Reserves `worstCaseMicros` under `id` (one per model call attempt) if the cap allows it. Reserving an
   * id that is already reserved returns the existing reservation.
   */
  reserve(id: string, worstCaseMicros: number, options?: ReserveOptions): Promise<ReserveOutcome>;
  /** Replaces the reservation by the call's actual cost; at most once per id. */
  settle(id: string, actualMicros: number, key: SpendKey): Promise<SettleOutcome>;
  /** Drops an unused reservation (the call was not sent). False when there was none. */
  release(id: string): Promise<boolean>;
  /** Sets the cap (null: no cap), as `chimera budget set` does. */
  setCap(capMicros: number | null): Promise<void>;
  /**
   * Applies the configured cap (`MAX_SPEND_USD`) only if it differs from the last configured value seen,
   * so a daemon restart does not undo `chimera budget set`, while a changed configuration applies.
   * @returns true when the cap was changed.
   */
  applyConfiguredCap(capMicros: number | null): Promise<boolean>;
  snapshot(): Promise<BudgetSnapshot>;
  close(): Promise<void>;
}

/** Settled ids are remembered this long, so a retried settle is not counted twice. */
export const SETTLED_MEMORY_MS = 24 * 60 * 60_000;

/** Minutes of per-minute spend kept for "the last hour". */
export const HOUR_MINUTES = 60;
