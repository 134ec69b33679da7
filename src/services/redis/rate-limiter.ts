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
 *            chargeUs refundUs -> {granted 0|1, wait, slot}
 *   adjust   chargeUs refundUs -> 1
 *   penalize forUs -> 1
 * `chargeUs` (>= 0) and `refundUs` (<= 0) are the summed token-budget corrections of settled permits
 * (`ceil(tInterval * actual) - ceil(tInterval * reserved)` each), applied before anything else, charges
 * first: an acquire carries the settles issued beside it (see `RedisRateLimiter.settle`).
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

-- Settled permits' corrections: a charge (actual above reserved), then a refund, never below now (a full
-- budget banks nothing), as the same settles one by one would leave it.
local function adjust(charge, refund)
  if charge == 0 and refund == 0 then return false end
  ttat = math.max(math.max(ttat, now) + charge, now)
  ttat = math.max(ttat + refund, now)
  return true
end

if op == 'acquire' then
  local adjusted = adjust(tonumber(ARGV[10]), tonumber(ARGV[11]))
  local rinc = tonumber(ARGV[2]) * tonumber(ARGV[6])
  local tinc = math.ceil(tonumber(ARGV[4]) * tonumber(ARGV[7]))
  local maxWait = tonumber(ARGV[8])
  local previous = tonumber(ARGV[9])
  if previous >= 0 and penalty <= previous then
    if adjusted then store() end
    return {1, 0, previous}
  end
  local slot = math.max(now, penalty,
    rtat - math.max(0, tonumber(ARGV[3]) - rinc),
    ttat - math.max(0, tonumber(ARGV[5]) - tinc))
  local wait = slot - now
  if wait > maxWait then
    if adjusted then store() end
    return {0, wait, slot}
  end
  rtat = math.max(rtat, slot) + rinc
  ttat = math.max(ttat, slot) + tinc
  store()
  return {1, wait, slot}
elseif op == 'adjust' then
  if adjust(tonumber(ARGV[2]), tonumber(ARGV[3])) then store() end
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
    const settles = this.takeSettles();
    const sent = this.command(
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
      settles?.chargeUs ?? 0,
      settles?.refundUs ?? 0,
    );
    settles?.done(sent);
    return fromReply(await sent);
  }

  /**
   * @internal Corrects the token budget. Not sent on its own at once: the settles issued in one turn of the
   * event loop are summed and ride on the first acquire issued in that same turn (one script call instead
   * of one per settle and one per acquire), or go as one `adjust` call at the end of it. They were
   * concurrent, so applying them together, before that acquire, is one order they could have run in; each
   * caller still resolves only once Redis has applied its correction.
   */
  settle(reservedTokens: number, actualTokens: number): Promise<void> {
    const interval = this.params.tokenIntervalUs;
    const deltaUs = Math.ceil(interval * actualTokens) - Math.ceil(interval * reservedTokens);
    if (deltaUs === 0) return Promise.resolve();
    const pending = this.pendingSettles ?? this.startSettles();
    if (deltaUs > 0) pending.chargeUs += deltaUs;
    else pending.refundUs += deltaUs;
    return pending.applied;
  }

  private pendingSettles: PendingSettles | undefined;

  private startSettles(): PendingSettles {
    const pending = new PendingSettles();
    this.pendingSettles = pending;
    setImmediate(() => {
      if (this.pendingSettles !== pending) return; // an acquire took them
      this.pendingSettles = undefined;
      pending.done(this.command(this.redisKey, 'adjust', pending.chargeUs, pending.refundUs));
    });
    return pending;
  }

  private takeSettles(): PendingSettles | undefined {
    const pending = this.pendingSettles;
    this.pendingSettles = undefined;
    return pending;
  }
}

/** Token-budget corrections waiting to be sent together, and the promise their callers wait on. */
class PendingSettles {
  chargeUs = 0;
  refundUs = 0;
  readonly applied: Promise<void>;
  private resolve!: () => void;
  private reject!: (error: unknown) => void;

  constructor() {
    this.applied = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Settles the callers with the outcome of the script call that carried the corrections. */
  done(sent: Promise<unknown>): void {
    sent.then(
      () => this.resolve(),
      (error: unknown) => this.reject(error),
    );
  }
}
