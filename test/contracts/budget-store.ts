import { describe, expect, it } from 'vitest';
import type { BudgetStore } from '../../src/cost/ports.js';
import { isChimeraError } from '../../src/errors.js';

/** What a contract run needs from a budget adapter under test. */
export interface BudgetStoreHarness {
  store: BudgetStore;
  /** Lets `ms` pass for the store: fake time in memory, a real wait for Redis. */
  advance(ms: number): Promise<void>;
  /** A reservation TTL short enough to let lapse inside a test. */
  shortTtlMs: number;
  /** True when `advance` can move an hour at no cost (fake clocks). */
  fakeTime: boolean;
  cleanup(): Promise<void>;
}

const sonnet = { provider: 'anthropic', model: 'claude-sonnet-5-5' };
const flash = { provider: 'gemini', model: 'gemini-2.5-flash' };
let counter = 0;
const callId = (label: string) => `call-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

/** The behaviour every `BudgetStore` adapter shares. Run it with a fresh, isolated store per test. */
export function budgetStoreContract(name: string, makeStore: () => Promise<BudgetStoreHarness>): void {
  async function withStore(run: (h: BudgetStoreHarness) => Promise<void>): Promise<void> {
    const harness = await makeStore();
    try {
      await run(harness);
    } finally {
      await harness.cleanup();
    }
  }

  describe(`${name} budget store contract`, () => {
    it('without a cap every reservation is granted and shows as reserved', () =>
      withStore(async ({ store }) => {
        expect(await store.reserve(callId('a'), 5_000)).toMatchObject({ ok: true, duplicate: false });
        expect(await store.reserve(callId('b'), 7_000)).toMatchObject({ ok: true });
        expect(await store.snapshot()).toMatchObject({
          capMicros: null,
          spentMicros: 0,
          reservedMicros: 12_000,
          reservations: 2,
        });
      }));

    it('grants a reservation only while spent + reserved + worst case stays within the cap', () =>
      withStore(async ({ store }) => {
        await store.setCap(1_000);
        const first = callId('first');
        expect(await store.reserve(first, 600)).toMatchObject({ ok: true });
        expect(await store.reserve(callId('second'), 400)).toMatchObject({ ok: true });
        expect(await store.reserve(callId('third'), 1)).toEqual({
          ok: false,
          reason: 'cap_reached',
          capMicros: 1_000,
          spentMicros: 0,
          reservedMicros: 1_000,
          worstCaseMicros: 1,
        });
        await store.settle(first, 100, sonnet);
        // spent 100 + reserved 400 + 500 = 1000: fits exactly; one more micro does not.
        expect(await store.reserve(callId('fits'), 500)).toMatchObject({ ok: true });
        expect(await store.reserve(callId('over'), 1)).toMatchObject({
          ok: false,
          reason: 'cap_reached',
          spentMicros: 100,
        });
      }));

    it('settling replaces the reservation by the actual cost, per provider and model', () =>
      withStore(async ({ store }) => {
        const a = callId('a');
        const b = callId('b');
        await store.reserve(a, 600);
        await store.reserve(b, 900);
        expect(await store.settle(a, 250, sonnet)).toBe('settled');
        expect(await store.settle(b, 75, flash)).toBe('settled');
        const snapshot = await store.snapshot();
        expect(snapshot).toMatchObject({
          spentMicros: 325,
          reservedMicros: 0,
          reservations: 0,
          spentLastHourMicros: 325,
          overrunMicros: 0,
        });
        expect(snapshot.spentBy).toEqual(
          [
            { ...sonnet, micros: 250 },
            { ...flash, micros: 75 },
          ].sort((x, y) => x.provider.localeCompare(y.provider)),
        );
      }));

    it('a settle is counted once, even when retried, and a settled id cannot be reserved again', () =>
      withStore(async ({ store }) => {
        const id = callId('once');
        await store.reserve(id, 500);
        expect(await store.settle(id, 300, sonnet)).toBe('settled');
        expect(await store.settle(id, 300, sonnet)).toBe('duplicate');
        expect(await store.reserve(id, 500)).toEqual({ ok: false, reason: 'already_settled' });
        expect((await store.snapshot()).spentMicros).toBe(300);
      }));

    it('keeps the last refused reservation until one is granted again', () =>
      withStore(async ({ store }) => {
        expect((await store.snapshot()).lastRefusal).toBeNull();
        await store.setCap(1_000);
        await store.reserve(callId('holds'), 700);
        expect(await store.reserve(callId('too-big'), 500)).toMatchObject({ ok: false });
        expect(await store.reserve(callId('bigger'), 900)).toMatchObject({ ok: false });
        const snapshot = await store.snapshot();
        expect(snapshot.lastRefusal).toEqual({ worstCaseMicros: 900, at: expect.any(Number) });
        expect(snapshot.lastRefusal!.at).toBeLessThanOrEqual(snapshot.at);
        expect(await store.reserve(callId('fits'), 300)).toMatchObject({ ok: true });
        expect((await store.snapshot()).lastRefusal).toBeNull();
      }));

    it('a retried reserve of the same id reserves nothing more', () =>
      withStore(async ({ store }) => {
        const id = callId('retry');
        const first = await store.reserve(id, 500);
        const again = await store.reserve(id, 500);
        expect(again).toMatchObject({ ok: true, duplicate: true });
        expect(first.ok && again.ok && again.expiresAt).toBe(first.ok && first.expiresAt);
        expect((await store.snapshot()).reservedMicros).toBe(500);
      }));

    it('releasing drops an unused reservation once', () =>
      withStore(async ({ store }) => {
        await store.setCap(1_000);
        const id = callId('release');
        await store.reserve(id, 1_000);
        expect(await store.reserve(callId('blocked'), 1)).toMatchObject({ ok: false });
        expect(await store.release(id)).toBe(true);
        expect(await store.release(id)).toBe(false);
        expect(await store.snapshot()).toMatchObject({ spentMicros: 0, reservedMicros: 0, reservations: 0 });
        expect(await store.reserve(callId('now-fits'), 1_000)).toMatchObject({ ok: true });
      }));

    it("a dead process's reservation lapses after its TTL, is kept as expired, and frees the cap", () =>
      withStore(async ({ store, advance, shortTtlMs }) => {
        await store.setCap(1_000);
        const lost = callId('lost');
        await store.reserve(lost, 800, { ttlMs: shortTtlMs });
        expect(await store.reserve(callId('blocked'), 300)).toMatchObject({ ok: false });
        await advance(shortTtlMs + 100);
        expect(await store.snapshot()).toMatchObject({
          reservedMicros: 0,
          reservations: 0,
          expiredMicros: 800,
        });
        expect(await store.reserve(callId('after'), 300)).toMatchObject({ ok: true });
        // The call finished after all: its cost is spent even though its reservation had lapsed.
        expect(await store.settle(lost, 700, sonnet)).toBe('unreserved');
        expect(await store.snapshot()).toMatchObject({ spentMicros: 700, reservedMicros: 300 });
      }));

    it('a settle above the reservation is spent in full and reported as an overrun', () =>
      withStore(async ({ store }) => {
        const id = callId('overrun');
        await store.reserve(id, 100);
        await store.settle(id, 150, sonnet);
        expect(await store.snapshot()).toMatchObject({ spentMicros: 150, overrunMicros: 50 });
      }));

    it('setting the cap below what is spent refuses every reservation; no cap refuses none', () =>
      withStore(async ({ store }) => {
        const id = callId('spend');
        await store.reserve(id, 500);
        await store.settle(id, 500, sonnet);
        await store.setCap(400);
        expect(await store.reserve(callId('x'), 1)).toMatchObject({
          ok: false,
          capMicros: 400,
          spentMicros: 500,
        });
        await store.setCap(null);
        expect(await store.reserve(callId('y'), 1_000_000)).toMatchObject({ ok: true });
        expect((await store.snapshot()).capMicros).toBeNull();
      }));

    it('the configured cap applies when it changes, and a restart with the same value keeps a cap set since', () =>
      withStore(async ({ store }) => {
        expect(await store.applyConfiguredCap(null)).toBe(false);
        expect(await store.applyConfiguredCap(1_000)).toBe(true);
        expect((await store.snapshot()).capMicros).toBe(1_000);
        await store.setCap(5_000); // chimera budget set
        expect(await store.applyConfiguredCap(1_000)).toBe(false); // a daemon restarts, config unchanged
        expect((await store.snapshot()).capMicros).toBe(5_000);
        expect(await store.applyConfiguredCap(2_000)).toBe(true); // MAX_SPEND_USD changed
        expect((await store.snapshot()).capMicros).toBe(2_000);
        expect(await store.applyConfiguredCap(null)).toBe(true); // MAX_SPEND_USD removed
        expect((await store.snapshot()).capMicros).toBeNull();
      }));

    it('refuses amounts that are not whole, non-negative micros', () =>
      withStore(async ({ store }) => {
        await expect(store.reserve(callId('neg'), -1)).rejects.toThrow(RangeError);
        await expect(store.reserve(callId('frac'), 1.5)).rejects.toThrow(RangeError);
        await expect(store.settle(callId('neg'), -5, sonnet)).rejects.toThrow(RangeError);
        await expect(store.setCap(-1)).rejects.toThrow(RangeError);
      }));

    it('spend in the last hour leaves the hour; the total stays', () =>
      withStore(async ({ store, advance, fakeTime }) => {
        if (!fakeTime) return; // an hour of real time: covered by the fake-clock adapters
        const id = callId('hour');
        await store.reserve(id, 100);
        await store.settle(id, 100, sonnet);
        await advance(30 * 60_000);
        const later = callId('later');
        await store.reserve(later, 50);
        await store.settle(later, 50, sonnet);
        expect((await store.snapshot()).spentLastHourMicros).toBe(150);
        await advance(31 * 60_000);
        expect(await store.snapshot()).toMatchObject({ spentLastHourMicros: 50, spentMicros: 150 });
      }));

    it('a closed store refuses calls with the closed code', () =>
      withStore(async ({ store }) => {
        await store.close();
        const error = await store.snapshot().catch((e: unknown) => e);
        expect(isChimeraError(error) && error.code).toBe('closed');
      }));
  });
}
