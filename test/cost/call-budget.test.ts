import { describe, expect, it } from 'vitest';
import { BudgetExhaustedError, CallBudget, isBudgetExhaustedError } from '../../src/cost/call-budget.js';
import { builtInPrices } from '../../src/cost/config.js';
import { MemoryBudgetStore } from '../../src/cost/memory-budget-store.js';
import { buildPriceTable } from '../../src/cost/prices.js';

const table = buildPriceTable(builtInPrices());
// system 10 bytes + one 20-byte message + 16*2 + 64 framing = 126 prompt tokens at most
const call = (id: string, extra: Partial<Parameters<CallBudget['reserve']>[0]> = {}) => ({
  id,
  provider: 'anthropic',
  model: 'claude-sonnet-5-5',
  system: 'historian.',
  messages: [{ content: 'Why two tides a day?' }],
  maxTokens: 100,
  ...extra,
});

describe('the budget around a call', () => {
  it('reserves the worst case, then settles the actual cost of the model that answered', async () => {
    const store = new MemoryBudgetStore();
    const budget = new CallBudget(store, table);
    const reservation = await budget.reserve(call('c:0:0:1'));
    // 126 tokens at the dearest input rate (2.5) + 100 output at 10: 315 + 1000
    expect(reservation.worstCaseMicros).toBe(1_315);
    expect((await store.snapshot()).reservedMicros).toBe(1_315);
    const charge = await reservation.settle({ inputTokens: 30, outputTokens: 40 }, 'claude-sonnet-5-5');
    expect(charge).toMatchObject({ status: 'priced', micros: 460 }); // 30*2 + 40*10
    expect(await store.snapshot()).toMatchObject({ spentMicros: 460, reservedMicros: 0 });
  });

  it('refuses a call the cap cannot take, with the figures, before it is sent', async () => {
    const store = new MemoryBudgetStore({ capMicros: 2_000 });
    const budget = new CallBudget(store, table);
    await budget.reserve(call('a'));
    const error = await budget.reserve(call('b')).catch((e: unknown) => e);
    expect(isBudgetExhaustedError(error)).toBe(true);
    expect(error).toBeInstanceOf(BudgetExhaustedError);
    expect(error).toMatchObject({
      capMicros: 2_000,
      spentMicros: 0,
      reservedMicros: 1_315,
      worstCaseMicros: 1_315,
      retryable: false,
    });
    expect((error as Error).message).toBe(
      'spending cap $0.002000 reached: spent $0.000000, $0.001315 reserved, the next call may cost $0.001315',
    );
  });

  it('releasing a failed call frees its reservation', async () => {
    const store = new MemoryBudgetStore({ capMicros: 2_000 });
    const budget = new CallBudget(store, table);
    const first = await budget.reserve(call('a'));
    await first.release();
    await expect(budget.reserve(call('b'))).resolves.toMatchObject({ worstCaseMicros: 1_315 });
  });

  it('free and unpriced calls reserve nothing and are charged as such', async () => {
    const store = new MemoryBudgetStore({ capMicros: 0 });
    const budget = new CallBudget(store, table);
    const simulated = await budget.reserve(
      call('s', { provider: 'simulated', model: 'chimera-simulated-1' }),
    );
    expect(await simulated.settle({ inputTokens: 10, outputTokens: 10 })).toMatchObject({
      status: 'free',
      micros: 0,
      reason: 'simulated',
    });
    const unknown = await budget.reserve(call('u', { model: 'claude-mystery' }));
    expect(await unknown.settle({ inputTokens: 10, outputTokens: 10 })).toMatchObject({
      status: 'unpriced',
      micros: null,
    });
    expect(await store.snapshot()).toMatchObject({ spentMicros: 0, reservations: 0 });
  });
});
