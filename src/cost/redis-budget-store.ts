import type { Redis } from 'ioredis';
import { ChimeraError } from '../errors.js';
import { createRedis } from '../services/redis/client.js';
import { type LuaScript, runScript } from '../services/redis/snapshot-scripts.js';
import { checkCap } from './budget-state.js';
import { assertNonNegativeMicros } from './money.js';
import {
  type BudgetSnapshot,
  type BudgetStore,
  DEFAULT_RESERVATION_TTL_MS,
  type ReserveOptions,
  type ReserveOutcome,
  type SettleOutcome,
  type SpendKey,
} from './ports.js';
import { APPLY_CONFIGURED_CAP, RELEASE, RESERVE, SET_CAP, SETTLE, SNAPSHOT } from './redis-budget-scripts.js';

/** The budget's keys under `REDIS_KEY_PREFIX`. */
export function budgetKeys(prefix: string): string[] {
  return [
    `${prefix}:budget`,
    `${prefix}:budget:reservations`,
    `${prefix}:budget:reserved`,
    `${prefix}:budget:settled`,
    `${prefix}:budget:spent-by`,
    `${prefix}:budget:minutes`,
  ];
}

export type RedisBudgetStoreOptions = { keyPrefix: string } & ({ redis: Redis } | { url: string });

/**
 * The shared budget: one cap for every daemon on the Redis, each operation one Lua script judged by the
 * server's clock. Keys: `{p}:budget` (hash: cap, configuredCap, spent, reserved, expired, overrun, and
 * the last refusal: refused, refusedAt),
 * `{p}:budget:reservations` (zset by expiry), `{p}:budget:reserved` (hash id -> worst case),
 * `{p}:budget:settled` (zset, the last day's settled ids), `{p}:budget:spent-by` (hash `provider/model`),
 * `{p}:budget:minutes` (hash minute -> micros, the last hour).
 */
export class RedisBudgetStore implements BudgetStore {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly keys: string[];
  private closed = false;

  constructor(options: RedisBudgetStoreOptions) {
    if ('redis' in options) {
      this.redis = options.redis;
      this.owned = false;
    } else {
      this.redis = createRedis(options.url);
      this.owned = true;
    }
    this.keys = budgetKeys(options.keyPrefix);
  }

  private run(script: LuaScript, args: Array<string | number>): Promise<unknown> {
    if (this.closed) throw new ChimeraError('closed', 'budget store is closed');
    return runScript(this.redis, script, this.keys, args);
  }

  async reserve(id: string, worstCaseMicros: number, options: ReserveOptions = {}): Promise<ReserveOutcome> {
    assertNonNegativeMicros(worstCaseMicros, 'worstCaseMicros');
    const ttlMs = options.ttlMs ?? DEFAULT_RESERVATION_TTL_MS;
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)
      throw new RangeError(`ttlMs must be a positive whole number (got ${ttlMs})`);
    const reply = (await this.run(RESERVE, [id, worstCaseMicros, ttlMs])) as Array<number | string>;
    if (reply[0] === 1) return { ok: true, duplicate: reply[1] === 1, expiresAt: Number(reply[2]) };
    if (reply[1] === 'already_settled') return { ok: false, reason: 'already_settled' };
    return {
      ok: false,
      reason: 'cap_reached',
      capMicros: Number(reply[2]),
      spentMicros: Number(reply[3]),
      reservedMicros: Number(reply[4]),
      worstCaseMicros,
    };
  }

  async settle(id: string, actualMicros: number, key: SpendKey): Promise<SettleOutcome> {
    assertNonNegativeMicros(actualMicros, 'actualMicros');
    return (await this.run(SETTLE, [id, actualMicros, `${key.provider}/${key.model}`])) as SettleOutcome;
  }

  async release(id: string): Promise<boolean> {
    return (await this.run(RELEASE, [id])) === 1;
  }

  async setCap(capMicros: number | null): Promise<void> {
    checkCap(capMicros);
    await this.run(SET_CAP, [capMicros ?? 'none']);
  }

  async applyConfiguredCap(capMicros: number | null): Promise<boolean> {
    checkCap(capMicros);
    return (await this.run(APPLY_CONFIGURED_CAP, [capMicros ?? 'none'])) === 1;
  }

  async snapshot(): Promise<BudgetSnapshot> {
    const [cap, spent, reserved, count, expired, overrun, lastHour, now, flat, refused, refusedAt] =
      (await this.run(SNAPSHOT, [])) as [
        string,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        string[],
        string,
        number,
      ];
    const spentBy: BudgetSnapshot['spentBy'] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const field = flat[i]!;
      const slash = field.indexOf('/');
      spentBy.push({
        provider: field.slice(0, slash),
        model: field.slice(slash + 1),
        micros: Number(flat[i + 1]),
      });
    }
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
      capMicros: cap === '' ? null : Number(cap),
      spentMicros: Number(spent),
      reservedMicros: Number(reserved),
      reservations: Number(count),
      spentLastHourMicros: Number(lastHour),
      expiredMicros: Number(expired),
      overrunMicros: Number(overrun),
      spentBy,
      lastRefusal: refused === '' ? null : { worstCaseMicros: Number(refused), at: Number(refusedAt) },
      at: Number(now),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
