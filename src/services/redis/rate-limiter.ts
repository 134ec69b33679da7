import type { Redis } from 'ioredis';
import {
  type GcraParams,
  gcraParams,
  type RateLimitSettings,
  type Reservation,
  toMicroseconds,
  toReservation,
} from '../../resilience/gcra.js';
import { acquireSlot, type GcraBackend, type GcraPermit } from '../../resilience/rate-limit-wait.js';
import { type Sleep, sleep as timerSleep } from '../../resilience/sleep.js';
import { type Clock, type RateLimiter, type RateLimitRequest, systemClock } from '../ports.js';

/**
 * The GCRA of `src/resilience/gcra.ts` over both budgets in one Lua script, so a reservation is atomic
 * across every daemon sharing the Redis. Times come from the server's TIME, never from the callers'
 * clocks, so daemons with skewed clocks still agree. State is one hash per key (whole microseconds since
 * the epoch): `rtat`, `ttat` (the two budgets' theoretical arrival times) and `penalty` (no grant before).
 * The hash expires a minute after its furthest time: by then both budgets are full, which is what an
 * absent hash means.
 *
 * Every increment is a whole number of microseconds, rounded up as `gcra.ts` rounds it (the request
 * interval and both tolerances arrive whole), so the stored times stay exact integers.
 *
 * ARGV[1] is the operation:
 *   acquire  rInterval rTolerance tInterval tTolerance requests tokens maxWait previousSlot(-1: none)
 *            -> {granted 0|1, wait, slot}
 *   settle   tInterval reservedTokens actualTokens -> 1
 *   penalize forUs -> 1
 */
const GCRA_LUA = `
local key = KEYS[1]
local op = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local h = redis.call('HMGET', key, 'rtat', 'ttat', 'penalty')
local rtat = tonumber(h[1]) or 0
local ttat = tonumber(h[2]) or 0
local penalty = tonumber(h[3]) or 0

local function store()
  redis.call('HSET', key, 'rtat', string.format('%.0f', rtat), 'ttat', string.format('%.0f', ttat),
    'penalty', string.format('%.0f', penalty))
  local horizon = math.max(rtat, ttat, penalty) - now
  redis.call('PEXPIRE', key, math.max(0, math.floor(horizon / 1000)) + 60000)
end

if op == 'acquire' then
  local rinc = tonumber(ARGV[2]) * tonumber(ARGV[6])
  local tinc = math.ceil(tonumber(ARGV[4]) * tonumber(ARGV[7]))
  local maxWait = tonumber(ARGV[8])
  local previous = tonumber(ARGV[9])
  if previous >= 0 and penalty <= previous then
    return {1, 0, previous}
  end
  local slot = math.max(now, penalty,
    rtat - math.max(0, tonumber(ARGV[3]) - rinc),
    ttat - math.max(0, tonumber(ARGV[5]) - tinc))
  local wait = slot - now
  if wait > maxWait then
    return {0, wait, slot}
  end
  rtat = math.max(rtat, slot) + rinc
  ttat = math.max(ttat, slot) + tinc
  store()
  return {1, wait, slot}
elseif op == 'settle' then
  local interval = tonumber(ARGV[2])
  local delta = math.ceil(interval * tonumber(ARGV[4])) - math.ceil(interval * tonumber(ARGV[3]))
  ttat = math.max(math.max(ttat, now) + delta, now)
  store()
  return 1
elseif op == 'penalize' then
  penalty = math.max(penalty, now + tonumber(ARGV[2]))
  store()
  return 1
end
return redis.error_reply('unknown rate limit operation ' .. tostring(op))
`;

const COMMAND = 'chimeraGcra';

type GcraCommand = (key: string, ...args: (string | number)[]) => Promise<unknown>;

/** The script as an ioredis command (EVALSHA, falling back to EVAL once per connection). */
function gcraCommand(redis: Redis): GcraCommand {
  const commands = redis as unknown as Record<string, GcraCommand | undefined>;
  if (typeof commands[COMMAND] !== 'function') {
    redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: GCRA_LUA });
  }
  const command = commands[COMMAND];
  if (typeof command !== 'function') throw new Error(`ioredis did not define ${COMMAND}`);
  return command.bind(redis);
}

function fromReply(reply: unknown): Reservation {
  if (!Array.isArray(reply) || reply.length !== 3) {
    throw new TypeError('unexpected reply from the rate limit script');
  }
  const [granted, waitUs, slotUs] = reply.map(Number) as [number, number, number];
  return toReservation(granted === 1 ? { granted: true, waitUs, slotUs } : { granted: false, waitUs });
}

export interface RedisRateLimiterOptions {
  /** The budget's name, normally the provider's; every limiter on the same key shares the budget. */
  key: string;
  /** From `config.redis.keyPrefix`. @default 'chimera' */
  keyPrefix?: string;
  settings: RateLimitSettings;
  /** Measures `waitedMs` only; grants follow the server's clock. @default the system clock */
  clock?: Clock;
  /** @default a `setTimeout` wait */
  sleep?: Sleep;
}

/** Requests and tokens per minute per provider, shared across daemons through Redis. */
export class RedisRateLimiter implements RateLimiter, GcraBackend {
  readonly key: string;
  /** The Redis key holding this budget's state. */
  readonly redisKey: string;
  private readonly params: GcraParams;
  private readonly command: GcraCommand;
  private readonly clock: Clock;
  private readonly sleep: Sleep;

  constructor(redis: Redis, options: RedisRateLimiterOptions) {
    this.key = options.key;
    // The braces make a cluster keep all of one budget's state in one slot.
    this.redisKey = `${options.keyPrefix ?? 'chimera'}:ratelimit:{${options.key}}`;
    this.params = gcraParams(options.settings);
    this.command = gcraCommand(redis);
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? timerSleep;
  }

  acquire(
    request: RateLimitRequest,
    options: { maxWaitMs: number; signal?: AbortSignal },
  ): Promise<GcraPermit> {
    return acquireSlot(this, this.key, request, options, { clock: this.clock, sleep: this.sleep });
  }

  async penalize(forMs: number): Promise<void> {
    await this.command(this.redisKey, 'penalize', Math.max(0, toMicroseconds(forMs)));
  }

  /** @internal the backend side, called by `acquireSlot` and permits. */
  async reserve(
    request: RateLimitRequest & { maxWaitMs: number; previousSlot?: number },
  ): Promise<Reservation> {
    const p = this.params;
    const reply = await this.command(
      this.redisKey,
      'acquire',
      p.requestIntervalUs,
      p.requestToleranceUs,
      p.tokenIntervalUs,
      p.tokenToleranceUs,
      request.requests,
      request.tokens,
      Math.floor(request.maxWaitMs * 1000),
      request.previousSlot === undefined ? -1 : toMicroseconds(request.previousSlot),
    );
    return fromReply(reply);
  }

  /** @internal */
  async settle(reservedTokens: number, actualTokens: number): Promise<void> {
    await this.command(this.redisKey, 'settle', this.params.tokenIntervalUs, reservedTokens, actualTokens);
  }
}
