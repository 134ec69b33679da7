/**
 * The budget around one model call, for the call path to wrap its provider call in:
 *
 *   const reservation = await callBudget.reserve({ id, provider, baseUrl, model, system, messages, maxTokens });
 *   try { result = await provider.generate(...) } catch (e) { await reservation.release(); throw e }
 *   const charge = await reservation.settle(result.usage, result.model);
 *
 * `reserve` throws a `BudgetExhaustedError` (not retryable, not a provider failure) when the cap cannot
 * take the call's worst case; its figures are what the budget machine's RESERVE_REFUSED event carries.
 * Free calls (simulated, self-hosted) and unpriced ones reserve nothing: start-up refuses a cap over an
 * unpriced model (`checkPricing`), and a free call cannot spend.
 */
import { ChimeraError } from '../errors.js';
import type { Usage } from '../events.js';
import type { ChatMessage } from '../services/ports.js';
import { type CallCharge, chargeCall } from './ledger.js';
import { formatUsd } from './money.js';
import type { BudgetStore, ReserveOptions } from './ports.js';
import type { PriceTable } from './prices.js';
import { promptTokensUpperBound, resolvePrice, worstCaseMicros } from './pricing.js';

/** The cap cannot take this call's worst case: the call was not sent. */
export class BudgetExhaustedError extends ChimeraError {
  constructor(
    readonly capMicros: number,
    readonly spentMicros: number,
    readonly reservedMicros: number,
    readonly worstCaseMicros: number,
  ) {
    super(
      'budget_exhausted',
      `spending cap ${formatUsd(capMicros)} reached: spent ${formatUsd(spentMicros)}, ${formatUsd(reservedMicros)} reserved, the next call may cost ${formatUsd(worstCaseMicros)}`,
    );
  }
}

export function isBudgetExhaustedError(error: unknown): error is BudgetExhaustedError {
  return error instanceof ChimeraError && error.code === 'budget_exhausted';
}

export interface CallToReserve {
  /** Unique per call attempt, e.g. `conversation:turn:generation:attempt`. */
  id: string;
  provider: string;
  baseUrl?: string;
  model: string;
  system: string;
  messages: ReadonlyArray<Pick<ChatMessage, 'content'>>;
  maxTokens: number;
  batch?: boolean;
  /** How long this reservation holds unsettled, when longer than the default (a call waiting on a batch). */
  ttlMs?: number;
  /**
   * The id is the call's own (not per attempt) and it may have been settled already, by this process or
   * a predecessor: then the reservation is `alreadySettled` and `settle` only prices (charges nothing).
   * @default false: a settled id is refused
   */
  maySettleAgain?: boolean;
}

export interface CallReservation {
  /** What was reserved (0 for a free or unpriced call). */
  readonly worstCaseMicros: number;
  /** The call was charged before (`maySettleAgain`): `settle` prices it and charges nothing. */
  readonly alreadySettled?: boolean;
  /** Prices the usage the provider reported and settles it; `model` is the one the provider answered with. */
  settle(usage: Usage, model?: string): Promise<CallCharge>;
  /** The call was not made (or failed before the provider could bill it): frees the reservation. */
  release(): Promise<void>;
}

export class CallBudget {
  constructor(
    private readonly store: BudgetStore,
    private readonly prices: PriceTable,
    private readonly options: ReserveOptions = {},
  ) {}

  /**
   * What `reserve` would reserve for the call, without reserving: its worst case (0 for a free or unpriced
   * call). A call lost in flight is recorded with it.
   */
  worstCase(call: Omit<CallToReserve, 'id'>): number {
    const resolution = resolvePrice(
      this.prices,
      { provider: call.provider, baseUrl: call.baseUrl },
      call.model,
    );
    if (resolution.kind !== 'priced') return 0;
    return worstCaseMicros(
      resolution.price,
      {
        promptTokens: promptTokensUpperBound({ system: call.system, messages: call.messages }),
        maxOutputTokens: call.maxTokens,
      },
      { batch: call.batch },
    );
  }

  /** @throws {BudgetExhaustedError} when the cap cannot take the call's worst case. */
  async reserve(call: CallToReserve): Promise<CallReservation> {
    const endpoint = { provider: call.provider, baseUrl: call.baseUrl };
    const resolution = resolvePrice(this.prices, endpoint, call.model);
    const charge = (usage: Usage, model?: string) =>
      chargeCall(this.prices, endpoint, model ?? call.model, usage, { batch: call.batch });
    if (resolution.kind !== 'priced') {
      return {
        worstCaseMicros: 0,
        settle: async (usage, model) => charge(usage, model),
        release: async () => {},
      };
    }
    const worst = worstCaseMicros(
      resolution.price,
      {
        promptTokens: promptTokensUpperBound({ system: call.system, messages: call.messages }),
        maxOutputTokens: call.maxTokens,
      },
      { batch: call.batch },
    );
    const outcome = await this.store.reserve(
      call.id,
      worst,
      call.ttlMs === undefined ? this.options : { ...this.options, ttlMs: call.ttlMs },
    );
    if (!outcome.ok) {
      if (outcome.reason === 'already_settled') {
        if (call.maySettleAgain) {
          return {
            worstCaseMicros: 0,
            alreadySettled: true,
            settle: async (usage, model) => charge(usage, model),
            release: async () => {},
          };
        }
        throw new ChimeraError(
          'budget_exhausted',
          `call ${call.id} was settled already and cannot be sent again`,
        );
      }
      throw new BudgetExhaustedError(outcome.capMicros, outcome.spentMicros, outcome.reservedMicros, worst);
    }
    return {
      worstCaseMicros: worst,
      settle: async (usage, model) => {
        const charged = charge(usage, model);
        await this.store.settle(call.id, charged.micros ?? 0, {
          provider: call.provider,
          model: charged.model,
        });
        return charged;
      },
      release: async () => {
        await this.store.release(call.id);
      },
    };
  }
}
