import type { Redis } from 'ioredis';
import type { LeaderLock } from '../ports.js';
import { lua, runScript } from './snapshot-scripts.js';

// By digest (EVALSHA): the relay renews its lock on every poll, so the source is not sent each time.
const RENEW = lua(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`,
);
const RELEASE = lua(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
);

/** A Redis `SET NX PX` lock, renewed by its holder with a compare-and-expire script. */
export class RedisLeaderLock implements LeaderLock {
  private held = false;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  async tryHold(): Promise<boolean> {
    if (this.held) {
      this.held = (await runScript(this.redis, RENEW, [this.key], [this.owner, this.ttlMs])) === 1;
      if (this.held) return true;
    }
    this.held = (await this.redis.set(this.key, this.owner, 'PX', this.ttlMs, 'NX')) === 'OK';
    return this.held;
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await runScript(this.redis, RELEASE, [this.key], [this.owner]);
  }
}
