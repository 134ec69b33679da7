import {
  applyConfiguredCapIn,
  checkCap,
  releaseIn,
  reserveIn,
  settleIn,
  snapshotOf,
} from '../../cost/budget-state.js';
import {
  type BudgetSnapshot,
  type BudgetStore,
  DEFAULT_RESERVATION_TTL_MS,
  type ReserveOptions,
  type ReserveOutcome,
  type SettleOutcome,
  type SpendKey,
} from '../../cost/ports.js';
import { ChimeraError } from '../../errors.js';
import type { Journal } from './journal.js';

/**
 * The budget of a resumable run: what was spent survives the process, so `generate --max-cost` caps the
 * run across every resume. Reservations and settles are flushed before they return; the reservations
 * of a process that died lapse into `expired` when the next one opens the journal.
 */
export class JournalBudgetStore implements BudgetStore {
  private closed = false;

  constructor(private readonly journal: Journal) {}

  private get state() {
    return this.journal.state.budget;
  }

  async reserve(id: string, worstCaseMicros: number, options: ReserveOptions = {}): Promise<ReserveOutcome> {
    this.assertOpen();
    const ttl = options.ttlMs ?? DEFAULT_RESERVATION_TTL_MS;
    const at = this.journal.clock.now();
    const outcome = reserveIn(this.state, id, worstCaseMicros, ttl, at);
    if (outcome.ok && !outcome.duplicate)
      await this.journal.append({ t: 'reserve', id, micros: worstCaseMicros, ttl, at });
    else await this.journal.barrier();
    return outcome;
  }

  async settle(id: string, actualMicros: number, key: SpendKey): Promise<SettleOutcome> {
    this.assertOpen();
    const at = this.journal.clock.now();
    const outcome = settleIn(this.state, id, actualMicros, key, at);
    if (outcome === 'duplicate') await this.journal.barrier();
    else
      await this.journal.append({
        t: 'settle',
        id,
        micros: actualMicros,
        provider: key.provider,
        model: key.model,
        at,
      });
    return outcome;
  }

  async release(id: string): Promise<boolean> {
    this.assertOpen();
    const at = this.journal.clock.now();
    const released = releaseIn(this.state, id, at);
    if (released) await this.journal.append({ t: 'release', id, at });
    return released;
  }

  async setCap(capMicros: number | null): Promise<void> {
    this.assertOpen();
    checkCap(capMicros);
    await this.journal.commit({ t: 'cap', cap: capMicros });
  }

  async applyConfiguredCap(capMicros: number | null): Promise<boolean> {
    this.assertOpen();
    checkCap(capMicros);
    if ((capMicros ?? 'none') === this.state.configuredCap) return false;
    applyConfiguredCapIn(this.state, capMicros);
    await this.journal.append({ t: 'configured-cap', cap: capMicros });
    return true;
  }

  async snapshot(): Promise<BudgetSnapshot> {
    this.assertOpen();
    await this.journal.barrier();
    return snapshotOf(this.state, this.journal.clock.now());
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new ChimeraError('closed', 'budget store is closed');
  }
}
