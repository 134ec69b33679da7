import type { Redis } from 'ioredis';
import { type BreakerReport, breakerReportSchema } from '../../events.js';
import type { BreakerStateStore } from '../ports.js';

/** The hash holding one field per provider. */
export function breakersKey(keyPrefix: string): string {
  return `${keyPrefix}:breakers`;
}

/**
 * Breaker reports shared by every daemon on one Redis: the hash `<prefix>:breakers`, one JSON field per
 * provider, overwritten by each report.
 */
export class RedisBreakerStateStore implements BreakerStateStore {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
  ) {
    this.key = breakersKey(keyPrefix);
  }

  async write(provider: string, report: BreakerReport): Promise<void> {
    await this.redis.hset(this.key, provider, JSON.stringify(report));
  }

  async readAll(): Promise<Record<string, BreakerReport>> {
    const fields = await this.redis.hgetall(this.key);
    const out: Record<string, BreakerReport> = {};
    for (const [provider, text] of Object.entries(fields)) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        // Written by something else; status shows the provider without a breaker state.
        continue;
      }
      const parsed = breakerReportSchema.safeParse(json);
      if (parsed.success) out[provider] = parsed.data;
    }
    return out;
  }
}
