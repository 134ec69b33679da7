/**
 * One provider's batcher at work: the pure `batcherMachine` bound to the provider's `BatchApi`, the
 * `BatchStore` (the batches out, durable) and the `TurnCache` (where every answer lands, whichever daemon
 * owns its conversation). A conversation's turn calls `call(key, request)` and waits, for hours if need be.
 *
 * Durability, in the order things happen:
 *   1. the intent (custom ids and requests) is recorded, refusing ids another intent holds;
 *   2. the batch is submitted, tagged with the intent's id where the API keeps a tag; its id is recorded (a
 *      crash between the provider's answer and this write leaves an intent without a batch id: the
 *      daemon that adopts it looks for the batch in the provider's list, by its tag or, for Anthropic, by
 *      its size, age and custom ids, and releases the intent only when the provider has none; see
 *      docs/batch.md);
 *   3. answers are written to the turn cache (first answer wins), then the intent is released.
 * A daemon renews the leases on its intents every third of `leaseMs`; a replacement adopts intents whose
 * lease lapsed and polls them on. A call whose custom id another intent holds waits for the answer to
 * reach the turn cache, and asks again if that intent goes without one (it failed, or it was retried).
 */
import { randomUUID } from 'node:crypto';
import { type Actor, createActor, fromPromise, type InspectionEvent } from 'xstate';
import { ChimeraError, CircuitOpenError } from '../errors.js';
import type { Turn } from '../events.js';
import type { Logger } from '../logger.js';
import {
  type BatcherInput,
  type BatchItem,
  batcherMachine,
  batchFailure,
  type CancelInput,
  type OutBatch,
  type ReadInput,
  type SettleInput,
  type SubmitInput,
  type SubmitOutput,
} from '../machines/batcher.js';
import { speakerFor } from '../machines/conversation.js';
import { isTruncated, recordedStopReason } from '../provenance/stop-reason.js';
import type {
  BatchApi,
  BatchItemResult,
  BatchRequest,
  BatchState,
  BatchStatus,
  BatchStore,
  Clock,
  GenerateResult,
  ListedBatch,
  LlmProvider,
  StoredBatch,
  TurnCache,
  TurnKey,
} from '../services/ports.js';
import { customIdOf, turnKeyOf } from './custom-id.js';

export interface BatcherSettings
  extends Pick<
    BatcherInput,
    'maxRequests' | 'collectMs' | 'pollMinMs' | 'pollMaxMs' | 'maxRequestRetries' | 'fallback'
  > {
  /** How long an intent stays this daemon's without a renewal. @default 30 s */
  leaseMs?: number;
}

/**
 * The provider's circuit breaker as the batcher uses it (`ProviderBreaker` fits): the same breaker its
 * online calls go through, so a provider failing in either mode holds both.
 */
export interface BatchBreaker {
  /** @throws {CircuitOpenError} while open (or while another call probes a half-open breaker). */
  admit(): { readonly probe: boolean };
  onSuccess(ticket?: { readonly probe: boolean }): void;
  onFailure(error: unknown, ticket?: { readonly probe: boolean }): void;
}

export interface ProviderBatcherOptions {
  api: BatchApi;
  store: BatchStore;
  turnCache: TurnCache;
  clock: Clock;
  /** This daemon, as the owner of the intents it records. */
  owner: string;
  settings?: BatcherSettings;
  /** The provider's online call path, for `fallback: 'online'`. */
  online?: LlmProvider;
  /**
   * Counts whole batches: a submission that fails, or a batch that fails or expires, is a failure; a batch
   * whose results were read is a success. While it is open no batch is submitted (the requests wait).
   * @default none
   */
  breaker?: BatchBreaker;
  logger?: Logger;
  inspect?: (event: InspectionEvent) => void;
}

/** A batch out, as `status` and metrics show it. */
export interface BatchOut {
  id: string;
  requests: number;
  ageMs: number;
  state: BatchState;
}

interface Waiter {
  key: TurnKey;
  request: BatchRequest['request'];
  resolve: (turn: Turn) => void;
  reject: (error: unknown) => void;
}

/** Re-asks an open breaker at least this often (a half-open one frees its probe slot at no set time)... */
const MIN_ADMISSION_WAIT_MS = 250;
/** ...and at most this long apart, so a cancel or a restored breaker is seen soon. */
const MAX_ADMISSION_WAIT_MS = 5_000;

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** How far a provider's clock may be behind ours when its creation times are compared with our intents'. */
const CLOCK_SKEW_MS = 60_000;
/** Untagged batches of the right size looked at, at most, when recognising one (Anthropic). */
const MAX_CANDIDATES = 20;

/** The tag a submission carries where the API keeps one (batch metadata, display name): its intent's id. */
export function submissionTag(intentId: string): string {
  return `chimera-${intentId}`;
}

export const DEFAULT_BATCH_LEASE_MS = 30_000; // three renewals a lease; a dead daemon's batches are picked up within half a minute

/** The turn a batch answer makes, the same whichever daemon reads it. */
export function turnFromResult(
  key: TurnKey,
  provider: string,
  request: BatchRequest['request'],
  result: GenerateResult,
  at: number,
  batch: boolean,
): Turn {
  return {
    index: key.turnIndex,
    speaker: speakerFor(key.turnIndex),
    provider,
    model: result.model,
    text: result.text.trim(),
    usage: result.usage,
    latencyMs: result.latencyMs,
    attempts: 1,
    requestId: result.requestId,
    at,
    stopReason: recordedStopReason(result.stopReason),
    truncated: isTruncated(result.stopReason),
    temperature: request.temperature,
    maxTokens: request.maxTokens,
    batch,
  };
}

export class ProviderBatcher {
  readonly provider: string;
  private actor: Actor<typeof batcherMachine> | null = null;
  private readonly waiters = new Map<string, Waiter[]>();
  /** Answers read and kept in the turn cache, waiting for the machine's `deliver`. */
  private readonly answers = new Map<string, Turn>();
  private readonly intents = new Map<string, string>();
  /** Adopted intents without a batch id, until the provider's list says whether it took their batch. */
  private readonly recovering = new Map<string, StoredBatch>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private readonly leaseMs: number;
  /** Batch latencies (submission to distribution), for metrics; drained by the reader. */
  readonly latenciesMs: number[] = [];
  /** Requests this batcher submitted, and in how many batches. */
  submitted = 0;
  batchesSubmitted = 0;
  /** True while an open breaker holds the next submission. */
  heldByBreaker = false;

  constructor(private readonly options: ProviderBatcherOptions) {
    this.provider = options.api.provider;
    this.leaseMs = options.settings?.leaseMs ?? DEFAULT_BATCH_LEASE_MS;
  }

  /** Starts the machine, adopts the batches a lapsed daemon left, and keeps leases and waits in hand. */
  async start(): Promise<this> {
    if (this.actor) return this;
    const { api, store, turnCache, clock, owner } = this.options;
    const machine = batcherMachine.provide({
      actors: {
        submitBatch: fromPromise<SubmitOutput, SubmitInput>(async ({ input, signal }) => {
          const intentId = randomUUID();
          const at = clock.now();
          const requests = input.requests.map((item) => ({ customId: item.customId, request: item.request }));
          const { refused } = await store.recordIntent({
            intentId,
            provider: this.provider,
            requests,
            owner,
            at,
            leaseMs: this.leaseMs,
          });
          const toSend = requests.filter((request) => !refused.includes(request.customId));
          if (toSend.length === 0) return { intentId, batchId: '', submittedAt: at, refused };
          let status: Awaited<ReturnType<BatchApi['submit']>>;
          let ticket: { readonly probe: boolean } | undefined;
          try {
            ticket = await this.admission(signal);
            status = await api.submit(toSend, { tag: submissionTag(intentId) });
          } catch (error) {
            await store.release(intentId, this.provider);
            if (ticket) this.options.breaker?.onFailure(error, ticket);
            throw error;
          }
          // A half-open breaker's probe is the submission itself: the provider took the batch.
          if (ticket?.probe) this.options.breaker?.onSuccess(ticket);
          const submittedAt = clock.now();
          await store.recordSubmitted(intentId, this.provider, status.id, submittedAt);
          this.intents.set(status.id, intentId);
          this.submitted += toSend.length;
          this.batchesSubmitted += 1;
          return { intentId, batchId: status.id, submittedAt, refused };
        }),
        pollBatches: fromPromise<BatchStatus[], { batchIds: string[] }>(async ({ input }) => {
          const statuses = await Promise.all(input.batchIds.map((id) => api.retrieve(id)));
          // A batch lost whole gives its ids back before the machine sends them round again, and counts
          // against the provider (each status is seen finished by one poll only: the machine settles it).
          for (const status of statuses)
            if (status.state === 'failed' || status.state === 'expired') {
              await this.releaseBatch(status.id);
              this.options.breaker?.onFailure(
                batchFailure(this.provider, 'server_error', `batch ${status.id} ${status.state}`),
              );
            }
          return statuses;
        }),
        readResults: fromPromise<BatchItemResult[], ReadInput>(async ({ input }) => {
          const results: BatchItemResult[] = [];
          const requests = new Map(input.batch.items.map((item) => [item.customId, item.request]));
          for await (const result of api.results(input.batch.batchId)) {
            results.push(result);
            const key = turnKeyOf(result.customId);
            const request = requests.get(result.customId);
            if (!result.ok || !key || !request) continue;
            const turn = turnFromResult(key, this.provider, request, result.result, clock.now(), true);
            this.answers.set(result.customId, await turnCache.putIfAbsent(key, turn));
          }
          await this.releaseBatch(input.batch.batchId, input.batch.intentId);
          this.latenciesMs.push(clock.now() - input.batch.submittedAt);
          // The provider processed the batch (a cancelled one says nothing about its health).
          if (input.batch.state !== 'cancelled') this.options.breaker?.onSuccess();
          return results;
        }),
        settleBatch: fromPromise<void, SettleInput>(async ({ input }) => {
          await this.releaseBatch(input.batch.batchId, input.batch.intentId);
        }),
        cancelBatches: fromPromise<void, CancelInput>(async ({ input }) => {
          await Promise.all(input.batchIds.map((id) => api.cancel(id)));
        }),
      },
      actions: {
        deliver: (_, { customId }) => {
          const turn = this.answers.get(customId);
          this.answers.delete(customId);
          if (turn) this.settle(customId, (waiter) => waiter.resolve(turn));
        },
        fail: (_, { customId, error }) => this.settle(customId, (waiter) => waiter.reject(error)),
        goOnline: (_, { item }) => {
          void this.callOnline(item);
        },
      },
    });
    const input: BatcherInput = {
      provider: this.provider,
      limits: api.limits,
      ...this.options.settings,
    };
    this.actor = createActor(machine, {
      input,
      systemId: `batcher-${this.provider}`,
      inspect: this.options.inspect,
    });
    this.actor.subscribe({
      error: (error) =>
        this.options.logger?.error({ err: error, provider: this.provider }, 'batcher stopped'),
    });
    this.actor.start();
    await this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
    return this;
  }

  /** One turn's model call through the next batch; resolves with the turn as the turn cache keeps it. */
  async call(key: TurnKey, request: BatchRequest['request']): Promise<Turn> {
    const actor = this.actor;
    if (!actor) throw new ChimeraError('closed', `batcher for ${this.provider} is not running`);
    const recorded = await this.options.turnCache.get(key);
    if (recorded) return recorded;
    const customId = customIdOf(key);
    const answer = new Promise<Turn>((resolve, reject) => {
      const list = this.waiters.get(customId) ?? [];
      list.push({ key, request, resolve, reject });
      this.waiters.set(customId, list);
    });
    actor.send({
      type: 'REQUEST',
      item: { customId, request, bytes: Buffer.byteLength(JSON.stringify(request)) },
    });
    return answer;
  }

  /** Batches out now, oldest first. */
  batchesOut(): BatchOut[] {
    const snapshot = this.actor?.getSnapshot();
    if (!snapshot) return [];
    const now = this.options.clock.now();
    const { out, current } = snapshot.context;
    return [...(current ? [current] : []), ...out]
      .sort((a, b) => a.submittedAt - b.submittedAt)
      .map((batch) => ({
        id: batch.batchId,
        requests: batch.items.length,
        ageMs: now - batch.submittedAt,
        state: batch.state,
      }));
  }

  /** Requests gathered for the next batch. */
  requestsWaiting(): number {
    const context = this.actor?.getSnapshot().context;
    return context ? context.queue.length + context.sending.length : 0;
  }

  /** Cancels every batch out at the provider; queued and later calls fail. */
  async cancel(): Promise<void> {
    const actor = this.actor;
    if (!actor) return;
    actor.send({ type: 'CANCEL' });
    await new Promise<void>((resolve) => {
      const check = () => actor.getSnapshot().matches({ control: 'cancelled' });
      if (check()) return resolve();
      const subscription = actor.subscribe(() => {
        if (check()) {
          subscription.unsubscribe();
          resolve();
        }
      });
    });
  }

  /**
   * Stops this batcher. Its intents stay in the store and lapse after `leaseMs`, when another daemon
   * adopts them; calls still waiting fail with `closed` (their conversations resume elsewhere).
   */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.actor?.stop();
    this.actor = null;
    const error = new ChimeraError('closed', `batcher for ${this.provider} stopped`);
    for (const list of this.waiters.values()) for (const waiter of list) waiter.reject(error);
    this.waiters.clear();
  }

  /**
   * Waits until the breaker lets a batch go, and takes the admission. While it is open the submission is
   * held (the machine stays in `submitting`, new requests queue behind it); it ends early when the
   * batcher is stopped (the signal) or cancelled.
   */
  private async admission(signal: AbortSignal): Promise<{ readonly probe: boolean } | undefined> {
    const breaker = this.options.breaker;
    if (!breaker) return undefined;
    let held = false;
    while (true) {
      try {
        const ticket = breaker.admit();
        if (held) this.options.logger?.info({ provider: this.provider }, 'breaker admits batches again');
        return ticket;
      } catch (error) {
        if (!(error instanceof CircuitOpenError)) throw error;
        if (this.actor?.getSnapshot().context.cancelled)
          throw batchFailure(this.provider, 'invalid_request', 'batches were cancelled');
        if (!held)
          this.options.logger?.warn(
            { provider: this.provider, retryAt: error.retryAt },
            'breaker open: batch submission held',
          );
        held = true;
        this.heldByBreaker = true;
        const waitMs = Math.min(
          MAX_ADMISSION_WAIT_MS,
          Math.max(MIN_ADMISSION_WAIT_MS, error.retryAt - this.options.clock.now()),
        );
        try {
          await abortableSleep(waitMs, signal);
        } finally {
          this.heldByBreaker = false;
        }
      }
    }
  }

  /**
   * The batch an intent's submission made, if the provider took it: found in the provider's list by the
   * tag the submission carried (OpenAI, Gemini), or, where the API keeps no tag (Anthropic), among the
   * batches no recorded intent claims, created since the intent, of its size: a finished one is confirmed
   * by the custom ids in its results, one still running is taken only when it is the one candidate.
   * @returns null when the provider has no such batch (or none can be told apart), undefined when the
   *   provider could not be asked now.
   */
  private async findSubmitted(stored: StoredBatch, now: number): Promise<ListedBatch | null | undefined> {
    const { api, store } = this.options;
    if (!api.list) return null;
    try {
      const tag = submissionTag(stored.intentId);
      const since = stored.createdAt - CLOCK_SKEW_MS;
      const claimed = new Set((await store.list(this.provider)).map((batch) => batch.batchId));
      const candidates: ListedBatch[] = [];
      for await (const listed of api.list(since)) {
        if (claimed.has(listed.id)) continue;
        if (listed.tag === tag) return listed;
        if (api.keepsTags || listed.createdAt === undefined) continue;
        if (listed.createdAt < since || listed.createdAt > now + CLOCK_SKEW_MS) continue;
        if (listed.requests !== undefined && listed.requests !== stored.requests.length) continue;
        if (listed.state === 'failed' || listed.state === 'expired') continue;
        candidates.push(listed);
        if (candidates.length >= MAX_CANDIDATES) break;
      }
      const ids = new Set(stored.requests.map((request) => request.customId));
      const running = candidates.filter((batch) => batch.state === 'in_progress');
      const confirmed: ListedBatch[] = [];
      for (const candidate of candidates) {
        if (candidate.state === 'in_progress' || candidate.state === 'cancelling') continue;
        const carried = new Set<string>();
        for await (const result of api.results(candidate.id)) carried.add(result.customId);
        if (carried.size === ids.size && [...ids].every((id) => carried.has(id))) confirmed.push(candidate);
      }
      if (confirmed.length === 1) return confirmed[0]!;
      if (confirmed.length === 0 && running.length === 1) return running[0]!;
      if (confirmed.length + running.length > 1)
        this.options.logger?.warn(
          {
            provider: this.provider,
            intentId: stored.intentId,
            candidates: confirmed.length + running.length,
          },
          'several batches could be the one a lost submission made; none is taken',
        );
      return null;
    } catch (error) {
      this.options.logger?.warn(
        { err: error, provider: this.provider, intentId: stored.intentId },
        'could not list the provider batches to recover a submission',
      );
      return undefined;
    }
  }

  private settle(customId: string, action: (waiter: Waiter) => void): void {
    const list = this.waiters.get(customId);
    this.waiters.delete(customId);
    for (const waiter of list ?? []) action(waiter);
  }

  private async releaseBatch(batchId: string, intentId = this.intents.get(batchId)): Promise<void> {
    if (!intentId) return;
    this.intents.delete(batchId);
    await this.options.store.release(intentId, this.provider);
  }

  private async callOnline(item: BatchItem): Promise<void> {
    const key = turnKeyOf(item.customId);
    const online = this.options.online;
    try {
      if (!online || !key) throw new ChimeraError('invalid_request', `no online path for ${this.provider}`);
      const result = await online.generate({ ...item.request, idempotencyKey: item.customId });
      const turn = turnFromResult(key, this.provider, item.request, result, this.options.clock.now(), false);
      const kept = await this.options.turnCache.putIfAbsent(key, turn);
      this.settle(item.customId, (waiter) => waiter.resolve(kept));
    } catch (error) {
      this.settle(item.customId, (waiter) => waiter.reject(error));
    }
  }

  /** Renews this daemon's leases, adopts lapsed intents, and looks after calls the machine is not carrying. */
  private async tick(): Promise<void> {
    const actor = this.actor;
    if (!actor || this.ticking) return;
    this.ticking = true;
    try {
      const { store, clock, owner, turnCache } = this.options;
      const now = clock.now();
      await store.renew(this.provider, owner, now, this.leaseMs);
      const adopted = await store.adopt(this.provider, owner, now, this.leaseMs);
      const batches: OutBatch[] = [];
      for (const stored of adopted) {
        if (stored.batchId === null) {
          this.recovering.set(stored.intentId, stored);
          continue;
        }
        this.intents.set(stored.batchId, stored.intentId);
        batches.push(outBatchOf(stored));
      }
      // Submissions whose answer was never recorded: the provider may have taken the batch all the same.
      for (const stored of [...this.recovering.values()]) {
        const found = await this.findSubmitted(stored, now);
        if (found === undefined) continue; // the provider could not be asked: again at the next round
        this.recovering.delete(stored.intentId);
        if (found === null) {
          // Never reached the provider: the ids go free and their conversations ask again.
          await store.release(stored.intentId, this.provider);
          continue;
        }
        const submittedAt = found.createdAt ?? now;
        await store.recordSubmitted(stored.intentId, this.provider, found.id, submittedAt);
        this.options.logger?.info(
          { provider: this.provider, batchId: found.id, intentId: stored.intentId },
          'found a batch the provider took before its id was recorded',
        );
        this.intents.set(found.id, stored.intentId);
        batches.push(outBatchOf({ ...stored, batchId: found.id, submittedAt }));
      }
      if (batches.length > 0) {
        this.options.logger?.info(
          { provider: this.provider, batches: batches.length },
          'adopted batches out',
        );
        actor.send({ type: 'ADOPT', batches });
      }
      // Calls the machine does not carry (another intent held their id): answered through the turn cache,
      // or asked again once that intent is gone.
      const carried = carriedIds(actor);
      for (const [customId, list] of [...this.waiters]) {
        if (carried.has(customId)) continue;
        const key = list[0]!.key;
        const turn = await turnCache.get(key);
        if (turn) {
          this.settle(customId, (waiter) => waiter.resolve(turn));
          continue;
        }
        if ((await store.holderOf(this.provider, customId)) === null) {
          const request = list[0]!.request;
          actor.send({
            type: 'REQUEST',
            item: { customId, request, bytes: Buffer.byteLength(JSON.stringify(request)) },
          });
        }
      }
    } catch (error) {
      this.options.logger?.warn({ err: error, provider: this.provider }, 'batch lease round failed');
    } finally {
      this.ticking = false;
    }
  }
}

function carriedIds(actor: Actor<typeof batcherMachine>): Set<string> {
  const { queue, sending, out, current } = actor.getSnapshot().context;
  return new Set(
    [...queue, ...sending, ...out.flatMap((batch) => batch.items), ...(current?.items ?? [])].map(
      (item) => item.customId,
    ),
  );
}

function outBatchOf(stored: StoredBatch): OutBatch {
  return {
    intentId: stored.intentId,
    batchId: stored.batchId!,
    items: stored.requests.map((request) => ({
      customId: request.customId,
      request: request.request,
      bytes: Buffer.byteLength(JSON.stringify(request.request)),
      retries: 0,
      resubmissions: 0,
    })),
    submittedAt: stored.submittedAt ?? stored.createdAt,
    state: 'in_progress',
  };
}
