import { hashNumber, hashString } from '../../src/services/providers/simulated/random.js';
import type { Dialect } from './behaviours.js';
import type { FailureKind, ParsedCall, ReplyInput } from './wire.js';

/**
 * The batches the fake server holds, whatever dialect created them: what each carries, when it ends, and
 * what became of each request. A batch is settled lazily, on the first read after its processing delay
 * (or a cancel), so no timer runs while tests wait; its answers are generated and billed once, then.
 */

export interface BatchBehaviour {
  /**
   * Milliseconds from creation until the batch has ended.
   * @default 0
   */
  delayMs?: number;
  /**
   * Fraction of requests (0..1) answered with a per-request error of `errorKind`.
   * @default 0
   */
  errorRate?: number;
  /**
   * Fraction of requests (0..1) the provider reports as expired (not processed in time).
   * @default 0
   */
  expiredRate?: number;
  /**
   * The per-request error: a retryable 500, an overload, or a non-retryable 400.
   * @default 'server_error'
   */
  errorKind?: 'server_error' | 'overloaded' | 'bad_request';
  /**
   * What happens to the whole batch: it ends normally, fails (nothing processed), or expires (nothing
   * processed in its window).
   * @default 'ended'
   */
  outcome?: 'ended' | 'failed' | 'expired';
}

export type ResolvedBatchBehaviour = Required<BatchBehaviour>;

export const DEFAULT_BATCH_BEHAVIOUR: ResolvedBatchBehaviour = {
  delayMs: 0,
  errorRate: 0,
  expiredRate: 0,
  errorKind: 'server_error',
  outcome: 'ended',
};

/** One request of a batch as the server parsed it; `invalid` holds why it could not be parsed. */
export interface FakeBatchItem {
  customId: string;
  call?: ParsedCall;
  invalid?: string;
  /** Gemini's per-request metadata, echoed in its response. */
  metadata?: unknown;
}

/** A file uploaded to (or produced by) the OpenAI Files API. */
export interface FakeFile {
  id: string;
  purpose: string;
  filename: string;
  createdAt: number;
  content: string;
}

export type ItemOutcome =
  | { type: 'succeeded'; reply: ReplyInput }
  | { type: 'errored'; kind: FailureKind; status: number; message?: string }
  | { type: 'expired' }
  | { type: 'cancelled' };

export type FakeBatchEnd = 'ended' | 'failed' | 'expired' | 'cancelled';

export interface FakeBatch {
  id: string;
  dialect: Dialect;
  model: string;
  createdAt: number;
  endsAt: number;
  behaviour: ResolvedBatchBehaviour;
  items: FakeBatchItem[];
  cancelRequestedAt?: number;
  end?: { state: FakeBatchEnd; at: number; outcomes: ItemOutcome[] };
  /** Dialect-specific fields (OpenAI's file ids, Gemini's display name). */
  extra: Record<string, string>;
}

/** How many times a custom id was submitted in a batch, and how many of those got an answer. */
export interface BatchIdCount {
  dialect: Dialect;
  customId: string;
  submitted: number;
  succeeded: number;
}

/** A batch as the server's own witness reports it. */
export interface FakeBatchState {
  dialect: Dialect;
  id: string;
  requests: number;
  /** `in_progress` until it ends (a cancel asked for shows as `cancelling` until the next read settles it). */
  state: FakeBatchEnd | 'in_progress' | 'cancelling';
  cancelRequested: boolean;
}

export interface BatchStoreDeps {
  now(): number;
  seed: number;
  /** Generates the answer to one request (the same generator, cache and usage counting as online calls). */
  serve(dialect: Dialect, call: ParsedCall, requestId: string): ReplyInput;
  /** Bills one answered request at the batch price. */
  bill(dialect: Dialect, reply: ReplyInput): void;
}

/** Largest number of batches kept; the oldest ended ones are dropped first. */
const MAX_BATCHES = 10_000;

export class BatchStore {
  private readonly batches = new Map<string, FakeBatch>();
  private readonly ids = new Map<string, BatchIdCount>();
  private readonly files = new Map<string, FakeFile>();
  private behaviour: ResolvedBatchBehaviour = DEFAULT_BATCH_BEHAVIOUR;
  private seq = 0;

  constructor(private readonly deps: BatchStoreDeps) {}

  /** Behaviour of batches created from now on (those already out keep theirs). */
  setBehaviour(behaviour: BatchBehaviour): void {
    this.behaviour = { ...DEFAULT_BATCH_BEHAVIOUR, ...behaviour };
  }

  create(
    dialect: Dialect,
    model: string,
    items: FakeBatchItem[],
    extra: Record<string, string> = {},
  ): FakeBatch {
    this.seq += 1;
    const now = this.deps.now();
    const id = `${this.seq.toString(36).padStart(4, '0')}${(hashNumber(now, hashNumber(this.seq)) >>> 0).toString(36)}`;
    const batch: FakeBatch = {
      id,
      dialect,
      model,
      createdAt: now,
      endsAt: now + this.behaviour.delayMs,
      behaviour: this.behaviour,
      items,
      extra,
    };
    for (const item of items) {
      const key = `${dialect}\u0000${item.customId}`;
      let count = this.ids.get(key);
      if (!count) {
        count = { dialect, customId: item.customId, submitted: 0, succeeded: 0 };
        this.ids.set(key, count);
      }
      count.submitted += 1;
    }
    this.batches.set(id, batch);
    if (this.batches.size > MAX_BATCHES) {
      for (const [old, entry] of this.batches) {
        if (entry.end) {
          this.batches.delete(old);
          break;
        }
      }
    }
    return batch;
  }

  /** The batch, settled if its time has come; undefined when unknown or of another dialect. */
  get(id: string, dialect: Dialect): FakeBatch | undefined {
    const batch = this.batches.get(id);
    if (!batch || batch.dialect !== dialect) return undefined;
    this.settle(batch);
    return batch;
  }

  list(dialect: Dialect): FakeBatch[] {
    const found: FakeBatch[] = [];
    for (const batch of this.batches.values()) {
      if (batch.dialect !== dialect) continue;
      this.settle(batch);
      found.push(batch);
    }
    return found.reverse();
  }

  /** Asks for cancellation: requests not yet processed are cancelled at the next read. */
  cancel(batch: FakeBatch): void {
    if (!batch.end && batch.cancelRequestedAt === undefined) batch.cancelRequestedAt = this.deps.now();
  }

  putFile(purpose: string, filename: string, content: string): FakeFile {
    this.seq += 1;
    const file: FakeFile = {
      id: `file-${this.seq.toString(36).padStart(6, '0')}`,
      purpose,
      filename,
      createdAt: this.deps.now(),
      content,
    };
    this.files.set(file.id, file);
    if (this.files.size > MAX_BATCHES * 3) this.files.delete(this.files.keys().next().value!);
    return file;
  }

  file(id: string): FakeFile | undefined {
    return this.files.get(id);
  }

  /** Ends a batch as failed at once (input that did not validate). */
  fail(batch: FakeBatch): void {
    if (!batch.end) batch.end = { state: 'failed', at: this.deps.now(), outcomes: [] };
  }

  /** Every batch held, oldest first, each settled as a read would settle it. */
  states(): FakeBatchState[] {
    return [...this.batches.values()].map((batch) => {
      this.settle(batch);
      const cancelRequested = batch.cancelRequestedAt !== undefined;
      return {
        dialect: batch.dialect,
        id: batch.id,
        requests: batch.items.length,
        state: batch.end?.state ?? (cancelRequested ? 'cancelling' : 'in_progress'),
        cancelRequested,
      };
    });
  }

  /** Every custom id submitted, with how often, in order of first submission. */
  customIds(): BatchIdCount[] {
    return [...this.ids.values()].map((count) => ({ ...count }));
  }

  clear(): void {
    this.batches.clear();
    this.ids.clear();
    this.files.clear();
    this.behaviour = DEFAULT_BATCH_BEHAVIOUR;
  }

  private settle(batch: FakeBatch): void {
    if (batch.end) return;
    const now = this.deps.now();
    const cancelled = batch.cancelRequestedAt !== undefined;
    if (!cancelled && now < batch.endsAt) return;
    const { behaviour } = batch;
    if (cancelled) {
      batch.end = { state: 'cancelled', at: now, outcomes: batch.items.map(() => ({ type: 'cancelled' })) };
      return;
    }
    if (behaviour.outcome === 'failed') {
      batch.end = { state: 'failed', at: now, outcomes: [] };
      return;
    }
    if (behaviour.outcome === 'expired') {
      batch.end = { state: 'expired', at: now, outcomes: batch.items.map(() => ({ type: 'expired' })) };
      return;
    }
    // The requests that fail are chosen by a hash of their custom id, so a run is repeatable.
    const ranked = batch.items
      .map((item, index) => ({ index, rank: hashString(item.customId, hashNumber(this.deps.seed)) >>> 0 }))
      .sort((a, b) => a.rank - b.rank || a.index - b.index);
    const errored = Math.round(batch.items.length * clamp(behaviour.errorRate));
    const expired = Math.round(batch.items.length * clamp(behaviour.expiredRate));
    const fate = new Array<'errored' | 'expired' | 'ok'>(batch.items.length).fill('ok');
    ranked.forEach(({ index }, position) => {
      if (position < errored) fate[index] = 'errored';
      else if (position < errored + expired) fate[index] = 'expired';
    });
    const outcomes = batch.items.map((item, index): ItemOutcome => {
      if (item.invalid !== undefined || !item.call) {
        return { type: 'errored', kind: 'bad_request', status: 400, message: item.invalid };
      }
      if (fate[index] === 'expired') return { type: 'expired' };
      if (fate[index] === 'errored') {
        const kind = behaviour.errorKind;
        return {
          type: 'errored',
          kind,
          status: kind === 'bad_request' ? 400 : kind === 'overloaded' ? 529 : 500,
        };
      }
      const reply = this.deps.serve(batch.dialect, item.call, `${batch.id}_${index}`);
      this.deps.bill(batch.dialect, reply);
      const count = this.ids.get(`${batch.dialect}\u0000${item.customId}`);
      if (count) count.succeeded += 1;
      return { type: 'succeeded', reply };
    });
    batch.end = { state: 'ended', at: now, outcomes };
  }
}

function clamp(fraction: number): number {
  return Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
}

/** Tallies of a batch's requests by outcome; all are processing while it has not ended. */
export function tally(batch: FakeBatch): {
  processing: number;
  succeeded: number;
  errored: number;
  expired: number;
  cancelled: number;
} {
  const counts = { processing: 0, succeeded: 0, errored: 0, expired: 0, cancelled: 0 };
  if (!batch.end) {
    counts.processing = batch.items.length;
    return counts;
  }
  for (const outcome of batch.end.outcomes) {
    if (outcome.type === 'succeeded') counts.succeeded += 1;
    else if (outcome.type === 'errored') counts.errored += 1;
    else if (outcome.type === 'expired') counts.expired += 1;
    else counts.cancelled += 1;
  }
  if (batch.end.state === 'failed') counts.errored = batch.items.length;
  return counts;
}
