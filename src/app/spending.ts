/**
 * The cost ledger and the spending cap, wired: every model call reserves its worst case through one
 * `CallBudget` on the `BudgetStore` port and settles what it used; each charge feeds this process's ledger
 * and `chimera_cost_usd_total`. The budget machine (`src/machines/budget.ts`) is hosted here: a refused
 * reservation and the store's snapshots (polled, so `chimera budget set` from anywhere is seen) drive it,
 * and its two effects are bound here: `budgetExhausted` closes intake (the supervisor's next-work actor asks
 * `intakeOpen()`), logs and sets the metric; `budgetReopened` opens intake and resumes every conversation
 * paused for budget. While open, each poll also resumes any conversation that paused after the last
 * reopening (a refusal that raced it), so none stays paused while there is room.
 */
import { type Actor, createActor } from 'xstate';
import type { Config } from '../config.js';
import type { BudgetExhaustedError } from '../cost/call-budget.js';
import { CallBudget } from '../cost/call-budget.js';
import { checkPricing, modelsInUse } from '../cost/checks.js';
import { type CallCharge, CostLedger } from '../cost/ledger.js';
import { formatUsd, microsToUsd } from '../cost/money.js';
import type { BudgetSnapshot, BudgetStore } from '../cost/ports.js';
import type { Logger } from '../logger.js';
import { budgetMachine } from '../machines/budget.js';
import type { CostMetrics } from '../metrics.js';
import type { Clock } from '../services/ports.js';

/** How often the store's figures are read: `budget set` elsewhere reopens a reached cap within this. */
export const DEFAULT_BUDGET_POLL_MS = 2_000;

export interface SpendingOptions {
  config: Readonly<Config>;
  store: BudgetStore;
  logger: Logger;
  clock: Clock;
  metrics: CostMetrics;
  /** The cap to apply instead of `MAX_SPEND_USD` (`generate --max-cost`). @default config.cost.maxSpendMicros */
  capMicros?: number | null;
  /** @default DEFAULT_BUDGET_POLL_MS */
  pollMs?: number;
}

export class Spending {
  readonly callBudget: CallBudget;
  /** Every call this process made, priced. */
  readonly ledger = new CostLedger();
  private readonly budget: Actor<typeof budgetMachine>;
  private open = true;
  private timer: NodeJS.Timeout | undefined;
  private pausedHandler: ((resume: boolean) => number) | undefined;
  private lastSnapshot: BudgetSnapshot | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: SpendingOptions) {
    const { logger, metrics } = options;
    this.callBudget = new CallBudget(options.store, options.config.cost.prices);
    metrics.capReached.set(0);
    const machine = budgetMachine.provide({
      actions: {
        budgetExhausted: ({ context }) => {
          this.open = false;
          metrics.capReached.set(1);
          logger.warn(
            {
              capUsd: context.capMicros === null ? null : microsToUsd(context.capMicros),
              spentUsd: microsToUsd(context.spentMicros),
              reservedUsd: microsToUsd(context.reservedMicros),
            },
            `spending cap ${context.capMicros === null ? 'none' : formatUsd(context.capMicros)} reached: intake stopped, conversations pause at their last completed turn (raise it with chimera budget set)`,
          );
        },
        budgetReopened: ({ context }) => {
          this.open = true;
          metrics.capReached.set(0);
          logger.info(
            { capUsd: context.capMicros === null ? null : microsToUsd(context.capMicros) },
            'spending cap has room again: intake and paused conversations resume',
          );
          // After the machine has left `exhausted` (this runs on exit), so intake is open when they resume.
          queueMicrotask(() => this.resumePaused());
        },
      },
    });
    this.budget = createActor(machine, { input: {} });
  }

  /** Whether new work may start: false while the cap is reached. */
  intakeOpen(): boolean {
    return this.open;
  }

  /** Whether the cap is reached (intake stopped). */
  get capReached(): boolean {
    return !this.open;
  }

  /**
   * Finds the conversations paused for budget, resuming them when `resume` is true; returns how many it
   * found.
   */
  onPaused(handler: (resume: boolean) => number): void {
    this.pausedHandler = handler;
  }

  /** Conversations of this process paused for budget now. */
  pausedCount(): number {
    return this.pausedHandler?.(false) ?? 0;
  }

  /** A call's charge: into the ledger and the metrics. */
  charged(charge: CallCharge): void {
    this.ledger.add(charge);
    const labels = { provider: charge.provider, model: charge.model };
    if (charge.status === 'unpriced') this.options.metrics.unpricedCalls.inc(labels);
    else this.options.metrics.cost.inc(labels, microsToUsd(charge.micros));
  }

  /** A reservation the cap refused. */
  refused(error: BudgetExhaustedError): void {
    if (this.stopped) return;
    this.budget.send({
      type: 'RESERVE_REFUSED',
      worstCaseMicros: error.worstCaseMicros,
      capMicros: error.capMicros,
      spentMicros: error.spentMicros,
      reservedMicros: error.reservedMicros,
    });
  }

  /**
   * Checks pricing against the cap, applies the configured cap, and starts polling the store.
   * @throws {ConfigError} when a cap is set and a model in use has no price.
   */
  async start(): Promise<void> {
    const { config, store, logger } = this.options;
    const cap = this.options.capMicros === undefined ? config.cost.maxSpendMicros : this.options.capMicros;
    const { warnings } = checkPricing(config.cost.prices, modelsInUse(config), cap);
    for (const warning of warnings) logger.warn(warning);
    if (this.options.capMicros !== undefined) await store.setCap(this.options.capMicros);
    else await store.applyConfiguredCap(cap);
    this.budget.start();
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.options.pollMs ?? DEFAULT_BUDGET_POLL_MS);
    this.timer.unref();
  }

  /** The store's figures now (and into the budget machine). */
  async snapshot(): Promise<BudgetSnapshot> {
    const snapshot = await this.options.store.snapshot();
    this.lastSnapshot = snapshot;
    return snapshot;
  }

  /** The last figures read, without a round trip (dashboard, progress). */
  get last(): BudgetSnapshot | undefined {
    return this.lastSnapshot;
  }

  /** One read of the store into the budget machine; one at a time, and never throws. */
  poll(): Promise<void> {
    this.polling ??= (async () => {
      try {
        const s = await this.snapshot();
        // A read still in flight when the process stopped has no machine to tell.
        if (this.stopped) return;
        this.budget.send({
          type: 'SNAPSHOT',
          capMicros: s.capMicros,
          spentMicros: s.spentMicros,
          reservedMicros: s.reservedMicros,
          ...(s.lastRefusal ? { refusedMicros: s.lastRefusal.worstCaseMicros } : {}),
        });
        if (this.open) this.resumePaused();
        else this.options.metrics.paused.set(this.pausedHandler?.(false) ?? 0);
      } catch (err) {
        this.options.logger.warn({ err }, 'could not read the spending budget; trying again');
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  private resumePaused(): void {
    if (!this.open) return;
    const resumed = this.pausedHandler?.(true) ?? 0;
    this.options.metrics.paused.set(0);
    if (resumed > 0)
      this.options.logger.info({ resumed }, `resumed ${resumed} conversation(s) paused for budget`);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.budget.stop();
  }
}
