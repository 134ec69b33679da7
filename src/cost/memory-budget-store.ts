import { ChimeraError } from '../errors.js';
import { type Clock, systemClock } from '../services/ports.js';
import {
  applyConfiguredCapIn,
  type BudgetState,
  checkCap,
  emptyBudgetState,
  releaseIn,
  reserveIn,
  settleIn,
  snapshotOf,
} from './budget-state.js';
import {
  type BudgetSnapshot,
  type BudgetStore,
  DEFAULT_RESERVATION_TTL_MS,
  type ReserveOptions,
  type ReserveOutcome,
  type SettleOutcome,
  type SpendKey,
} from './ports.js';

export interface MemoryBudgetStoreOptions {
  /** Judges reservation expiry and "the last hour". @default systemClock */
  clock?: Clock;
  /** The cap to start with (embedded mode: `MAX_SPEND_USD`, per process). @default null */
  capMicros?: number | null;
}

/** The embedded budget: the same rules as the Redis one, for this process only. */
export class MemoryBudgetStore implements BudgetStore {
  private readonly clock: Clock;
  private readonly state: BudgetState = emptyBudgetState();
  private closed = false;

  constructor(options: MemoryBudgetStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    checkCap(options.capMicros ?? null);
    this.state.capMicros = options.capMicros ?? null;
  }

  async reserve(id: string, worstCaseMicros: number, options: ReserveOptions = {}): Promise<ReserveOutcome> {
    this.assertOpen();
    return reserveIn(
      this.state,
      id,
      worstCaseMicros,
      options.ttlMs ?? DEFAULT_RESERVATION_TTL_MS,
      this.clock.now(),
    );
  }

  async settle(id: string, actualMicros: number, key: SpendKey): Promise<SettleOutcome> {
    this.assertOpen();
    return settleIn(this.state, id, actualMicros, key, this.clock.now());
  }

  async release(id: string): Promise<boolean> {
    this.assertOpen();
    return releaseIn(this.state, id, this.clock.now());
  }

  async setCap(capMicros: number | null): Promise<void> {
    this.assertOpen();
    checkCap(capMicros);
    this.state.capMicros = capMicros;
  }

  async applyConfiguredCap(capMicros: number | null): Promise<boolean> {
    this.assertOpen();
    return applyConfiguredCapIn(this.state, capMicros);
  }

  async snapshot(): Promise<BudgetSnapshot> {
    this.assertOpen();
    return snapshotOf(this.state, this.clock.now());
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new ChimeraError('closed', 'budget store is closed');
  }
}
