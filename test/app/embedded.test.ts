import { afterEach, describe, expect, it } from 'vitest';
import { Chimera } from '../../src/chimera.js';
import { loadConfig } from '../../src/config.js';
import { type ConversationEvent, conversationEventSchema } from '../../src/events.js';
import { createLogger } from '../../src/logger.js';
import type { InMemoryEventBus } from '../../src/services/memory/event-bus.js';
import type { GenerateRequest, GenerateResult, LlmProvider } from '../../src/services/ports.js';
import { SimulatedProvider } from '../../src/services/providers/simulated/provider.js';

const logger = createLogger({ level: 'silent' });
let running: Chimera | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** The embedded mode (no Redis, no Kafka): the in-process topic queue, store and event bus. */
async function embedded(
  env: Record<string, string> = {},
  options: {
    latencyMs?: number;
    drainTimeoutMs?: number;
    shardCapacity?: number;
    provider?: LlmProvider;
  } = {},
) {
  const config = loadConfig({ MAX_CONVERSATION_TURNS: '6', MIN_CONVERSATION_TURNS: '2', ...env });
  const chimera = await Chimera.create(config, {
    logger,
    owner: 'test-owner',
    intake: 'none',
    providerOverrides: {
      simulated: options.provider ?? new SimulatedProvider({ latencyMs: options.latencyMs ?? 1 }),
    },
    pollMs: 20,
    drainTimeoutMs: options.drainTimeoutMs,
    shardCapacity: options.shardCapacity,
  });
  running = chimera.start();
  const { parts } = chimera;
  return { chimera, bus: parts.bus as InMemoryEventBus, store: parts.store, source: parts.local, config };
}

function events(bus: InMemoryEventBus): ConversationEvent[] {
  return bus.read('events').map((m) => conversationEventSchema.parse(JSON.parse(m.value.toString('utf8'))));
}

/**
 * A simulated provider whose every reply then keeps the CPU busy for `busyMs`, as the work of a turn does
 * in a saturated process: with many conversations in flight, timers (lease renewals among them) run late.
 */
class BusyProvider implements LlmProvider {
  private readonly inner: SimulatedProvider;
  constructor(
    latencyMs: number,
    private readonly busyMs: number,
  ) {
    this.inner = new SimulatedProvider({ latencyMs });
  }
  get name() {
    return this.inner.name;
  }
  get model() {
    return this.inner.model;
  }
  start() {
    return this.inner.start();
  }
  healthCheck() {
    return this.inner.healthCheck();
  }
  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const result = await this.inner.generate(request);
    const until = performance.now() + this.busyMs;
    while (performance.now() < until) {
      // busy, as a turn's own work would be
    }
    return result;
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the embedded mode', () => {
  it('runs every topic to an ended record with its turns, events in order per conversation', async () => {
    const { bus, source, store } = await embedded();
    const titles = Array.from({ length: 20 }, (_, i) => `Topic number ${i}: grid-scale batteries`);
    for (const [i, title] of titles.entries()) source.push({ id: `t-${i}`, title });

    await until(() => events(bus).filter((e) => e.type === 'conversation.ended').length === 20);
    const all = events(bus);
    const ended = all.filter((e) => e.type === 'conversation.ended');
    expect(new Set(ended.map((e) => e.record.topic.id))).toEqual(new Set(titles.map((_, i) => `t-${i}`)));
    for (const event of ended) {
      if (event.type !== 'conversation.ended') continue;
      const { record } = event;
      expect(record.simulated).toBe(true);
      expect(record.turns.length).toBeGreaterThanOrEqual(1);
      expect(record.turns.length).toBeLessThanOrEqual(6);
      expect(record.turns.map((t) => t.index)).toEqual(record.turns.map((_, i) => i));
      expect(record.turns.map((t) => t.speaker)).toEqual(
        record.turns.map((_, i) => (i % 2 === 0 ? 'questioner' : 'answerer')),
      );
      expect(['max_turns', 'natural_end', 'repetition', 'refusal']).toContain(record.terminationReason);
      expect(record.quality.turns).toBe(record.turns.length);
      // The stream for this conversation: started, one turn.completed per kept turn in order, ended.
      const mine = all.filter((e) => e.conversationId === record.conversationId);
      expect(mine[0]!.type).toBe('conversation.started');
      expect(mine.at(-1)!.type).toBe('conversation.ended');
      const turnIndexes = mine.flatMap((e) => (e.type === 'turn.completed' ? [e.turnIndex] : []));
      expect(turnIndexes).toEqual(record.turns.map((t) => t.index));
    }
    expect((await store.counts()).ended).toBe(20);
    expect(await store.outboxSize()).toBe(0);
  });

  it('an overloaded process slows its intake down and loses no lease', async () => {
    // 300 conversations in flight at 8 ms of CPU per reply would make every timer wait about 2.4 s: past
    // the two thirds of a 2-second lease a renewal may come late. Intake must hold off instead.
    const { chimera, source, store } = await embedded(
      {
        LEASE_TTL_SECONDS: '2',
        MAX_CONCURRENT_CONVERSATIONS: '300',
        MIN_CONVERSATION_TURNS: '2',
        MAX_CONVERSATION_TURNS: '2',
      },
      { provider: new BusyProvider(20, 8) },
    );
    const count = 300;
    for (let i = 0; i < count; i++)
      source.push({ id: `busy-${i}`, title: `Topic number ${i}: soil carbon markets` });
    let peak = 0;
    await until(async () => {
      peak = Math.max(peak, chimera.supervision.active);
      return (await store.counts()).ended === count;
    }, 60_000);
    expect(chimera.supervision.lost).toBe(0);
    // It did slow down: never all of them in flight at once.
    expect(peak).toBeLessThan(count);
  }, 90_000);

  it('never runs more conversations at once than MAX_CONCURRENT_CONVERSATIONS', async () => {
    const { chimera, bus, source } = await embedded({ MAX_CONCURRENT_CONVERSATIONS: '3' });
    let peak = 0;
    chimera.parts.supervisor.subscribe((s) => {
      peak = Math.max(peak, s.context.active);
    });
    for (let i = 0; i < 12; i++) source.push({ id: `c-${i}`, title: `Concurrency topic ${i}` });
    await until(() => events(bus).filter((e) => e.type === 'conversation.ended').length === 12);
    expect(peak).toBe(3);
  });

  it('spreads conversations over supervisor shards of at most their capacity, and frees their slots', async () => {
    const { chimera, bus, source, store } = await embedded(
      { MAX_CONCURRENT_CONVERSATIONS: '5' },
      { latencyMs: 5, shardCapacity: 2 },
    );
    let peak = 0;
    let peakShard = 0;
    const shardIds = new Set<string>();
    chimera.parts.supervisor.subscribe((s) => {
      peak = Math.max(peak, s.context.active);
      for (const [shard, count] of Object.entries(s.context.shards)) {
        shardIds.add(shard);
        peakShard = Math.max(peakShard, count);
      }
    });
    for (let i = 0; i < 16; i++) source.push({ id: `s-${i}`, title: `Sharded topic ${i}` });
    await until(() => events(bus).filter((e) => e.type === 'conversation.ended').length === 16);
    await until(() => chimera.active === 0);

    expect(peak).toBe(5);
    expect(peakShard).toBe(2);
    // Five at a time in shards of two: three shards, never a fourth, since a new one starts only when all are full.
    expect([...shardIds].sort()).toEqual(['shard-0', 'shard-1', 'shard-2']);
    const { context, children } = chimera.parts.supervisor.getSnapshot();
    expect(context.settled).toBe(16);
    expect(Object.values(context.shards)).toEqual([0, 0, 0]);
    // Each shard let go of its finished conversation actors and their persisters.
    for (const shard of shardIds) {
      const child = children[shard as keyof typeof children]!;
      expect(Object.keys((child.getSnapshot() as { children: object }).children)).toEqual([]);
    }
    expect((await store.counts()).ended).toBe(16);
  });

  it('the same topic id twice starts one conversation', async () => {
    const { bus, source } = await embedded();
    source.push({ id: 'same', title: 'Offshore wind' });
    source.push({ id: 'same', title: 'Offshore wind' });
    source.push({ id: 'other', title: 'Tidal power' });
    await until(() => events(bus).filter((e) => e.type === 'conversation.ended').length === 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(events(bus).filter((e) => e.type === 'conversation.started')).toHaveLength(2);
  });

  it('a malformed topic goes to the dead-letter topic and intake goes on', async () => {
    const { bus, source } = await embedded();
    source.push('{"title": ');
    source.push({ id: 'ok', title: 'Carbon capture' });
    await until(() => events(bus).some((e) => e.type === 'conversation.ended'));
    const dead = bus.read('deadLetter');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.value.toString()).toBe('{"title": ');
    expect(Object.values(dead[0]!.headers).join(' ')).toMatch(/json/i);
  });

  it('draining stops intake, keeps what in-flight conversations did and releases their leases at once', async () => {
    const {
      chimera: live,
      source,
      store,
      bus,
    } = await embedded(
      { MAX_CONVERSATION_TURNS: '12', MIN_CONVERSATION_TURNS: '12' },
      // Three conversations in shards of two: the drain timeout stops two shards.
      { latencyMs: 150, drainTimeoutMs: 200, shardCapacity: 2 },
    );
    for (let i = 0; i < 3; i++) source.push({ id: `drain-${i}`, title: `Drain topic ${i}` });
    await until(async () => (await store.counts()).active === 3);
    await until(() => events(bus).filter((e) => e.type === 'turn.completed').length >= 3);
    await live.stop();
    running = undefined;

    expect(live.active).toBe(0);
    // Unfinished conversations are adoptable immediately, with their turns so far persisted.
    const orphans = await store.listOrphaned(Date.now() + 1, 10);
    expect(orphans).toHaveLength(3);
    for (const id of orphans) {
      const stored = await store.load(id);
      expect(stored?.status).toBe('active');
      const context = (stored!.snapshot as { context: { turns: unknown[] } }).context;
      const announced = events(bus).filter((e) => e.type === 'turn.completed' && e.conversationId === id);
      expect(context.turns.length).toBeGreaterThanOrEqual(announced.length);
    }
    // Intake is closed: a topic pushed now starts nothing.
    source.push({ id: 'late', title: 'Too late' });
    await new Promise((r) => setTimeout(r, 100));
    expect(events(bus).filter((e) => e.type === 'conversation.started')).toHaveLength(3);
  });
});
