import { getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { type Actor, createActor, fromPromise } from 'xstate';
import { ProviderError } from '../../src/errors.js';
import {
  type BatcherContext,
  type BatchItem,
  batcherMachine,
  type CancelInput,
  type OutBatch,
  type ReadInput,
  type SettleInput,
  type SubmitInput,
  type SubmitOutput,
} from '../../src/machines/batcher.js';
import type { BatchItemResult, BatchStatus, GenerateResult } from '../../src/services/ports.js';
import {
  type BatcherSettings,
  type BatcherWorldEvent,
  batcherStep,
  type Effect,
  type ExpectedBatcher,
  type ExpectedRequest,
  type IntakePhase,
  type ItemOutcome,
  initialBatcher,
  type TrackingPhase,
  type Where,
} from './batcher.oracle.js';

/**
 * Model-based test with an independent oracle: `@xstate/graph` walks the real batcher machine (three
 * custom ids, batches of two, one retry) and yields the shortest path to every state it can reach; each
 * path is replayed on a live actor whose batch API the test controls, and after every step the live
 * actor's state and what it did to the outside (answers delivered, calls failed with a code, requests sent
 * online) must be what the reference model in `batcher.oracle.ts` says.
 */

const IDS = ['a', 'b'];
const settings: BatcherSettings = {
  maxRequests: 2,
  pollMinMs: 10,
  pollMaxMs: 20,
  maxRetries: 1,
  fallback: 'batch',
  retryableCode: 'overloaded',
  fatalCode: 'invalid_request',
};
const COLLECT_MS = 1_000;
const input = {
  provider: 'anthropic',
  limits: { maxRequests: 100, maxBytes: 1_000_000 },
  maxRequests: settings.maxRequests,
  collectMs: COLLECT_MS,
  pollMinMs: settings.pollMinMs,
  pollMaxMs: settings.pollMaxMs,
  maxRequestRetries: settings.maxRetries,
};

const COLLECT = 'xstate.after.collect.batcher.intake.collecting';
const POLL = 'xstate.after.pollDelay.batcher.tracking.waiting';

type Snapshot = ReturnType<typeof batcherMachine.transition>;
type ModelEvent = { type: string; [key: string]: unknown };

const answer = (customId: string): GenerateResult => ({
  text: `answer ${customId}`,
  model: 'm',
  stopReason: 'end_turn',
  usage: { inputTokens: 1, outputTokens: 1 },
  latencyMs: 1,
  requestId: `r-${customId}`,
});

const retryable = () => new ProviderError('overloaded', 'busy', { provider: 'anthropic' });
const fatal = () => new ProviderError('invalid_request', 'bad', { provider: 'anthropic' });

const FIRST_OUTCOMES: ItemOutcome[] = ['ok', 'retryable', 'fatal', 'missing'];

function resultsFor(batch: OutBatch, outcomes: ItemOutcome[]): BatchItemResult[] {
  return batch.items.flatMap((item, i): BatchItemResult[] => {
    const outcome = outcomes[i]!;
    if (outcome === 'ok') return [{ customId: item.customId, ok: true, result: answer(item.customId) }];
    if (outcome === 'missing') return [];
    return [{ customId: item.customId, ok: false, error: outcome === 'fatal' ? fatal() : retryable() }];
  });
}

/** The events the world can send in each state. */
function eventsFor(snapshot: Snapshot): ModelEvent[] {
  const { context } = snapshot;
  const waiting = new Set(
    [
      ...context.queue,
      ...context.sending,
      ...context.out.flatMap((b) => b.items),
      ...(context.current?.items ?? []),
    ].map((item) => item.customId),
  );
  // A request already waiting is ignored (a test of its own below); only new ones widen the graph.
  const events: ModelEvent[] = IDS.filter((id) => !waiting.has(id)).map((id) => ({
    type: 'REQUEST',
    item: { customId: id, request: { system: 's', messages: [], maxTokens: 1, temperature: 0 }, bytes: 10 },
  }));
  events.push({ type: 'CANCEL' });
  if (snapshot.matches({ intake: 'collecting' })) events.push({ type: COLLECT });
  if (snapshot.matches({ intake: 'submitting' })) {
    const ids = context.sending.map((item) => item.customId);
    // Unique among the batches out: a custom id is out in one batch at a time.
    const batchId = (kept: string[]) => `b-${kept.join('')}`;
    const output: SubmitOutput = { intentId: 'i', batchId: batchId(ids), submittedAt: 0, refused: [] };
    events.push({ type: 'xstate.done.actor.submit', output });
    events.push({
      type: 'xstate.done.actor.submit',
      output: { ...output, batchId: batchId(ids.slice(1)), refused: [ids[0]] },
    });
    events.push({ type: 'xstate.error.actor.submit', error: retryable() });
    events.push({ type: 'xstate.error.actor.submit', error: fatal() });
  }
  if (snapshot.matches({ tracking: 'waiting' })) events.push({ type: POLL });
  if (snapshot.matches({ tracking: 'polling' })) {
    for (const first of ['in_progress', 'ended', 'failed', 'expired', 'cancelled'] as const) {
      const output: BatchStatus[] = context.out.map((batch, i) => ({
        id: batch.batchId,
        state: i === 0 ? first : 'in_progress',
        counts: { processing: 0, succeeded: 0, errored: 0, expired: 0, cancelled: 0 },
      }));
      events.push({ type: 'xstate.done.actor.poll', output });
    }
    events.push({ type: 'xstate.error.actor.poll', error: new Error('network') });
  }
  if (snapshot.matches({ tracking: 'reading' })) {
    for (const first of FIRST_OUTCOMES) {
      // The first request's answer varies; the rest are answered.
      const outcomes = context.current!.items.map((_, i): ItemOutcome => (i === 0 ? first : 'ok'));
      events.push({
        type: 'xstate.done.actor.read',
        output: resultsFor(context.current!, outcomes),
        outcomes,
      });
    }
    events.push({ type: 'xstate.error.actor.read', error: new Error('network') });
  }
  if (snapshot.matches({ tracking: 'settling' })) events.push({ type: 'xstate.done.actor.settle' });
  if (snapshot.matches({ control: 'cancelling' })) events.push({ type: 'xstate.done.actor.cancel' });
  return events;
}

/** The world event a machine event stands for, in the oracle's terms. */
function worldEvent(event: ModelEvent): BatcherWorldEvent | null {
  switch (event.type) {
    case 'REQUEST':
      return { kind: 'request', id: (event.item as { customId: string }).customId };
    case 'CANCEL':
      return { kind: 'cancel' };
    case COLLECT:
      return { kind: 'collectTimeUp' };
    case 'xstate.done.actor.submit':
      return { kind: 'submitted', refused: (event.output as SubmitOutput).refused };
    case 'xstate.error.actor.submit': {
      const error = event.error as ProviderError;
      return { kind: 'submitFailed', retryable: error.retryable, code: error.code };
    }
    case POLL:
      return { kind: 'pollTimeUp' };
    case 'xstate.done.actor.poll':
      return {
        kind: 'polled',
        states: (event.output as BatchStatus[]).map((status) => status.state) as never,
      };
    case 'xstate.error.actor.poll':
      return { kind: 'pollFailed' };
    case 'xstate.done.actor.read':
      return { kind: 'results', outcomes: event.outcomes as ItemOutcome[] };
    case 'xstate.error.actor.read':
      return { kind: 'resultsFailed' };
    case 'xstate.done.actor.settle':
      return { kind: 'settled' };
    case 'xstate.done.actor.cancel':
      return { kind: 'cancelDone' };
    default:
      return null;
  }
}

const req = (item: BatchItem, where: Where): ExpectedRequest => ({
  id: item.customId,
  where,
  retries: item.retries,
  resubmissions: item.resubmissions,
});

function observed(snapshot: Snapshot): ExpectedBatcher {
  const context: BatcherContext = snapshot.context;
  const value = snapshot.value as { intake: string; tracking: string; control: string };
  const batch = (b: OutBatch, where: Where) => ({
    ids: b.items.map((item) => item.customId),
    state: b.state as ExpectedBatcher['out'][number]['state'],
    requests: b.items.map((item) => req(item, where)),
  });
  return {
    intake: value.intake as IntakePhase,
    tracking: value.tracking as TrackingPhase,
    cancelled: context.cancelled,
    cancelling: value.control === 'cancelling',
    queue: context.queue.map((item) => req(item, 'queued')),
    sending: context.sending.map((item) => req(item, 'sending')),
    out: context.out.map((b) => batch(b, 'out')),
    current: context.current ? batch(context.current, 'reading') : null,
    pollDelayMs: context.pollDelayMs,
  };
}

const serialize = (snapshot: Snapshot) => JSON.stringify(observed(snapshot));

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** A live batcher whose batch API the test answers, recording what it does to the outside. */
class LiveBatcher {
  readonly pending = new Map<string, Pending>();
  effects: Effect[] = [];
  readonly actor: Actor<typeof batcherMachine>;

  constructor() {
    const control =
      <O, I>(name: string) =>
      () =>
        fromPromise<O, I>(
          () =>
            new Promise<O>((resolve, reject) =>
              this.pending.set(name, { resolve: resolve as (value: unknown) => void, reject }),
            ),
        );
    const machine = batcherMachine.provide({
      actors: {
        submitBatch: control<SubmitOutput, SubmitInput>('submit')(),
        pollBatches: control<BatchStatus[], { batchIds: string[] }>('poll')(),
        readResults: control<BatchItemResult[], ReadInput>('read')(),
        settleBatch: control<void, SettleInput>('settle')(),
        cancelBatches: control<void, CancelInput>('cancel')(),
      },
      actions: {
        deliver: (_, params) => this.effects.push({ kind: 'deliver', id: params.customId }),
        fail: (_, params) =>
          this.effects.push({ kind: 'fail', id: params.customId, code: params.error.code }),
        goOnline: (_, params) => this.effects.push({ kind: 'online', id: params.item.customId }),
      },
      // The timers are the test's to fire, by sending their events.
      delays: { collect: 2 ** 31 - 1, pollDelay: 2 ** 31 - 1 },
    });
    this.actor = createActor(machine, { input }).start();
  }

  async apply(event: ModelEvent): Promise<Effect[]> {
    this.effects = [];
    const match = /^xstate\.(done|error)\.actor\.(\w+)$/.exec(event.type);
    if (match) {
      const pending = this.pending.get(match[2]!)!;
      this.pending.delete(match[2]!);
      if (match[1] === 'done') pending.resolve(event.output);
      else pending.reject(event.error);
    } else {
      this.actor.send(event as never);
    }
    // Promise actors settle on the microtask queue.
    await new Promise((resolve) => setImmediate(resolve));
    return this.effects;
  }
}

/**
 * How far off the happy path a state is: each retry, resubmission and the cancel counts one, a backoff two.
 * The walk stops extending a state beyond two, which keeps the graph small enough to replay every path
 * while every kind of trouble, and every pair of retries, resubmissions and the cancel, is still reached.
 */
function trouble(snapshot: Snapshot): number {
  const { context } = snapshot;
  const items = [
    ...context.queue,
    ...context.sending,
    ...context.out.flatMap((b) => b.items),
    ...(context.current?.items ?? []),
  ];
  return (
    items.reduce((sum, item) => sum + item.retries + item.resubmissions, 0) +
    (context.cancelled ? 1 : 0) +
    (context.pollDelayMs > settings.pollMinMs ? 2 : 0)
  );
}

const paths = getShortestPaths(batcherMachine, {
  limit: 2_000_000,
  stopWhen: ((snapshot: Snapshot) =>
    trouble(snapshot) >= 2 || snapshot.matches({ control: 'cancelled' })) as never,
  input,
  events: eventsFor as never,
  serializeState: serialize as never,
});

async function replay(steps: readonly { event: ModelEvent }[]) {
  const live = new LiveBatcher();
  let expected = initialBatcher(settings);
  expect(observed(live.actor.getSnapshot())).toEqual(expected);
  for (const step of steps) {
    const world = worldEvent(step.event);
    if (!world) continue; // xstate.init
    const effects = await live.apply(step.event);
    const next = batcherStep(expected, world, settings);
    expect(observed(live.actor.getSnapshot()), step.event.type).toEqual(next.state);
    expect(effects, `${step.event.type} effects`).toEqual(next.effects);
    expected = next.state;
  }
  expect(live.actor.getSnapshot().status).toBe('active');
  return live;
}

describe('batcher machine, model-based against a reference model', () => {
  it('the paths reach every phase of both regions, resubmission, retry and cancel', () => {
    const states = paths.map((path) => path.state);
    const reached = new Set(states.map((s) => JSON.stringify(s.value)));
    for (const intake of ['idle', 'collecting', 'submitting'])
      expect(
        [...reached].some((v) => v.includes(`"intake":"${intake}"`)),
        intake,
      ).toBe(true);
    for (const tracking of ['idle', 'waiting', 'polling', 'reading', 'settling'])
      expect(
        [...reached].some((v) => v.includes(`"tracking":"${tracking}"`)),
        tracking,
      ).toBe(true);
    expect(states.some((s) => s.context.queue.some((item) => item.resubmissions > 0))).toBe(true);
    expect(states.some((s) => s.context.queue.some((item) => item.retries > 0))).toBe(true);
    expect(states.some((s) => s.context.cancelled)).toBe(true);
    expect(states.some((s) => s.context.out.length > 1)).toBe(true);
    expect(states.some((s) => s.context.pollDelayMs === settings.pollMaxMs)).toBe(true);
  });

  it(`replays all ${paths.length} paths on a live actor, which stays where the reference model says`, async () => {
    for (const path of paths) {
      const live = await replay(path.steps as never);
      live.actor.stop();
    }
  }, 120_000);
});

describe('batcher machine, a request already waiting', () => {
  it('is not queued again while it waits, is out, or its batch is being read', async () => {
    const live = new LiveBatcher();
    const request = (customId: string) => ({
      type: 'REQUEST',
      item: { customId, request: { system: 's', messages: [], maxTokens: 1, temperature: 0 }, bytes: 10 },
    });
    await live.apply(request('a'));
    await live.apply(request('a'));
    expect(live.actor.getSnapshot().context.queue.map((item) => item.customId)).toEqual(['a']);
    await live.apply({ type: COLLECT });
    await live.apply(request('a'));
    await live.apply({
      type: 'xstate.done.actor.submit',
      output: { intentId: 'i', batchId: 'b1', submittedAt: 0, refused: [] },
    });
    await live.apply(request('a'));
    expect(live.actor.getSnapshot().context.queue).toEqual([]);
    expect(live.actor.getSnapshot().context.out.map((b) => b.items.length)).toEqual([1]);
    live.actor.stop();
  });
});

describe('batcher machine, with the online fallback', () => {
  it('sends a retryable request online instead of into the next batch', async () => {
    const machineInput = { ...input, fallback: 'online' as const };
    const online: string[] = [];
    const queued: number[] = [];
    const machine = batcherMachine.provide({
      actors: {
        submitBatch: fromPromise<SubmitOutput, SubmitInput>(async () => ({
          intentId: 'i',
          batchId: 'b1',
          submittedAt: 0,
          refused: [],
        })),
        pollBatches: fromPromise<BatchStatus[], { batchIds: string[] }>(async () => [
          {
            id: 'b1',
            state: 'ended' as const,
            counts: { processing: 0, succeeded: 1, errored: 1, expired: 0, cancelled: 0 },
          },
        ]),
        readResults: fromPromise<BatchItemResult[], ReadInput>(async () => [
          { customId: 'a', ok: true as const, result: answer('a') },
          { customId: 'b', ok: false as const, error: retryable() },
        ]),
        settleBatch: fromPromise<void, SettleInput>(async () => {}),
        cancelBatches: fromPromise<void, CancelInput>(async () => {}),
      },
      actions: {
        deliver: () => {},
        fail: () => {},
        goOnline: ({ context }, params) => {
          online.push(params.item.customId);
          queued.push(context.queue.length);
        },
      },
      delays: { collect: 0, pollDelay: 0 },
    });
    const actor = createActor(machine, { input: machineInput }).start();
    for (const id of ['a', 'b'])
      actor.send({
        type: 'REQUEST',
        item: {
          customId: id,
          request: { system: 's', messages: [], maxTokens: 1, temperature: 0 },
          bytes: 1,
        },
      });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(online).toEqual(['b']);
    expect(actor.getSnapshot().context.queue).toEqual([]);
    actor.stop();
  });
});
