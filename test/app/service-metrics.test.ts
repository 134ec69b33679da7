import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { instrumentService, type ServiceMetricsOptions } from '../../src/app/service-metrics.js';
import type { ConversationRecord } from '../../src/events.js';
import type { ConversationStatus } from '../../src/services/ports.js';

type Context = { active: number; settled: number; lost: number; crashed: number };

/** A stand-in for the service: a supervisor whose snapshots the test pushes, and finished records. */
function fakeRuntime() {
  let context: Context = { active: 0, settled: 0, lost: 0, crashed: 0 };
  const snapshotListeners = new Set<(snapshot: { context: Context }) => void>();
  const finishedListeners = new Set<(record: ConversationRecord) => void>();
  const service = {
    supervisor: {
      getSnapshot: () => ({ context }),
      subscribe: (listener: (snapshot: { context: Context }) => void) => {
        snapshotListeners.add(listener);
        return { unsubscribe: () => snapshotListeners.delete(listener) };
      },
    },
    onFinished: (listener: (record: ConversationRecord) => void) => {
      finishedListeners.add(listener);
      return () => finishedListeners.delete(listener);
    },
  } as unknown as Pick<ServiceMetricsOptions, 'supervisor' | 'onFinished'>;
  return {
    service,
    push(next: Partial<Context>) {
      context = { ...context, ...next };
      for (const listener of snapshotListeners) listener({ context });
    },
    finish(record: ConversationRecord) {
      for (const listener of finishedListeners) listener(record);
    },
  };
}

const noCounts = async (): Promise<Record<ConversationStatus, number>> => ({
  active: 0,
  ended: 0,
  failed: 0,
  timedOut: 0,
});

function record(overrides: Partial<ConversationRecord> = {}): ConversationRecord {
  const turn = (index: number, speaker: 'questioner' | 'answerer') => ({
    index,
    speaker,
    provider: 'simulated',
    model: 'm',
    text: 't',
    usage: { inputTokens: 10, outputTokens: 5 },
    latencyMs: 300,
    attempts: 1,
    requestId: `r${index}`,
    at: 0,
  });
  return {
    conversationId: 'c-1',
    topic: { id: 't', title: 'T' },
    status: 'ended',
    terminationReason: 'natural_end',
    personas: { questioner: 'q', answerer: 'a' },
    providers: { questioner: 'simulated', answerer: 'simulated' },
    turns: [turn(0, 'questioner'), turn(1, 'answerer')],
    quality: {
      turns: 2,
      distinct1: 1,
      distinct2: 1,
      repetitionRatio: 0,
      meanTurnLength: 1,
      totalTokens: 30,
      meanLatencyMs: 300,
      score: 1,
    },
    simulated: true,
    startedAt: 0,
    endedAt: 4000,
    ...overrides,
  };
}

describe('service metrics', () => {
  it('counts finished conversations by status and reason, with their turns, tokens and turn latency', async () => {
    const registry = new Registry();
    const fake = fakeRuntime();
    instrumentService({
      registry,
      ...fake.service,
      store: { outboxSize: async () => 0, counts: noCounts },
    });
    fake.finish(record());
    fake.finish(record({ status: 'failed', terminationReason: 'provider_failed' }));
    const text = await registry.metrics();
    expect(text).toContain('chimera_conversations_finished_total{status="ended",reason="natural_end"} 1');
    expect(text).toContain(
      'chimera_conversations_finished_total{status="failed",reason="provider_failed"} 1',
    );
    expect(text).toContain('chimera_turns_total{provider="simulated",speaker="questioner"} 2');
    expect(text).toContain('chimera_conversation_tokens_total{provider="simulated",kind="input"} 40');
    expect(text).toContain('chimera_turn_latency_seconds_count{provider="simulated"} 4');
    expect(text).toContain('chimera_conversation_duration_seconds_sum 8');
  });

  it('follows the supervisor: active conversations and settled, lost and crashed counts', async () => {
    const registry = new Registry();
    const fake = fakeRuntime();
    instrumentService({
      registry,
      ...fake.service,
      store: { outboxSize: async () => 0, counts: noCounts },
    });
    fake.push({ active: 2, settled: 3 });
    fake.push({ active: 1, settled: 4, lost: 1 });
    const text = await registry.metrics();
    expect(text).toMatch(/^chimera_conversations_active 1$/m);
    expect(text).toContain('chimera_supervisor_conversations_total{outcome="settled"} 4');
    expect(text).toContain('chimera_supervisor_conversations_total{outcome="lost"} 1');
    expect(text).toContain('chimera_supervisor_conversations_total{outcome="crashed"} 0');
  });

  it('reports the last outbox sample when the store does not answer in time, without piling up reads', async () => {
    const registry = new Registry();
    let reads = 0;
    let answer: ((size: number) => void) | undefined;
    const store = {
      counts: noCounts,
      outboxSize: () => {
        reads += 1;
        // The first read answers; the next one hangs until the test lets it go.
        if (reads === 1) return Promise.resolve(7);
        return new Promise<number>((resolve) => (answer = resolve));
      },
    };
    instrumentService({ registry, ...fakeRuntime().service, store, sampleTimeoutMs: 10 });

    expect(await registry.metrics()).toMatch(/^chimera_outbox_backlog 7$/m);
    expect(await registry.metrics()).toMatch(/^chimera_outbox_backlog 7$/m);
    expect(await registry.metrics()).toMatch(/^chimera_outbox_backlog 7$/m);
    expect(reads).toBe(2);

    answer!(3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await registry.metrics()).toMatch(/^chimera_outbox_backlog 3$/m);
  });
});
