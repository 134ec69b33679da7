import { afterAll, describe, expect, inject, it } from 'vitest';
import type { BudgetStore } from '../../src/cost/ports.js';
import { budgetKeys, RedisBudgetStore } from '../../src/cost/redis-budget-store.js';
import { createRedis } from '../../src/services/redis/client.js';
import { budgetStoreContract } from '../contracts/budget-store.js';
import { deleteKeys, sleep, uniquePrefix } from '../persistence/redis-support.js';

const redisUrl = inject('redisUrl');
const admin = createRedis(redisUrl);

afterAll(async () => {
  await admin.quit();
});

budgetStoreContract('redis', async () => {
  const keyPrefix = uniquePrefix('budget');
  const store = new RedisBudgetStore({ url: redisUrl, keyPrefix });
  return {
    store,
    advance: sleep,
    shortTtlMs: 300,
    fakeTime: false,
    cleanup: async () => {
      await store.close();
      await deleteKeys(admin, keyPrefix);
    },
  };
});

/** A deterministic generator, so a failure can be replayed. */
function generator(seed: number): (max: number) => number {
  let state = seed;
  return (max) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return 1 + (state % max);
  };
}

describe('redis budget store', () => {
  it('keeps every key under the configured prefix', async () => {
    const keyPrefix = uniquePrefix('budget-keys');
    const store = new RedisBudgetStore({ redis: admin, keyPrefix });
    try {
      await store.setCap(1_000);
      await store.reserve('a', 10, { ttlMs: 60_000 });
      await store.settle('a', 5, { provider: 'openai', model: 'gpt-5.4-mini' });
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 100);
        cursor = next;
        found.push(...keys);
      } while (cursor !== '0');
      expect(new Set(found)).toEqual(
        new Set(
          budgetKeys(keyPrefix).filter((k) => !k.endsWith(':reservations') && !k.endsWith(':reserved')),
        ),
      );
      expect(await admin.hget(`${keyPrefix}:budget:spent-by`, 'openai/gpt-5.4-mini')).toBe('5');
    } finally {
      await deleteKeys(admin, keyPrefix);
    }
  });

  it('a cap set through one connection holds for reservers on two connections at once', async () => {
    const keyPrefix = uniquePrefix('budget-race');
    const one = new RedisBudgetStore({ url: redisUrl, keyPrefix });
    const two = new RedisBudgetStore({ url: redisUrl, keyPrefix });
    const stores: BudgetStore[] = [one, two];
    const cap = 10_000;
    const random = generator(7);
    try {
      await one.setCap(cap);
      // 400 reservers at once, alternating connections.
      const asks = Array.from({ length: 400 }, (_, i) => ({
        id: `r${i}`,
        worst: random(100),
        store: stores[i % 2]!,
      }));
      const outcomes = await Promise.all(asks.map((a) => a.store.reserve(a.id, a.worst)));
      const granted = asks.filter((_, i) => outcomes[i]!.ok);
      const grantedSum = granted.reduce((sum, a) => sum + a.worst, 0);
      expect(grantedSum).toBeLessThanOrEqual(cap);
      expect(grantedSum).toBeGreaterThan(cap - 100); // it filled up: a refusal only when the next ask did not fit
      expect((await two.snapshot()).reservedMicros).toBe(grantedSum);

      // Settle them all at once at or below the worst case, then keep reserving and settling from both
      // connections until refused: spend never passes the cap.
      await Promise.all(
        granted.map((a, i) =>
          stores[i % 2]!.settle(a.id, Math.floor(a.worst / 2), { provider: 'p', model: 'm' }),
        ),
      );
      const workers = Array.from({ length: 16 }, (_, w) =>
        (async () => {
          const store = stores[w % 2]!;
          for (let i = 0; ; i += 1) {
            const id = `w${w}-${i}`;
            const worst = random(200);
            const outcome = await store.reserve(id, worst);
            if (!outcome.ok) return;
            await store.settle(id, worst - random(worst) + 1, { provider: 'p', model: 'm' });
          }
        })(),
      );
      await Promise.all(workers);
      const final = await one.snapshot();
      expect(final.spentMicros).toBeLessThanOrEqual(cap);
      expect(final.reservedMicros).toBe(0);
      expect(final.overrunMicros).toBe(0);
      expect(final.spentBy).toEqual([{ provider: 'p', model: 'm', micros: final.spentMicros }]);
    } finally {
      await one.close();
      await two.close();
      await deleteKeys(admin, keyPrefix);
    }
  });
});
