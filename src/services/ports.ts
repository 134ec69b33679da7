/**
 * The ports: every way Chimera touches the world. Each has a real adapter (Redis, Kafka, an SDK) and an
 * in-memory one (the embedded default), and one contract suite in `test/contracts/` runs against both.
 * Domain types (topics, turns, usage, records) come from the zod schemas in `events.ts`; this file only
 * names the operations on them.
 */

import type { ProviderError } from '../errors.js';
import type { BreakerReport, EventTopics, RawTopic, Topic, Turn, Usage } from '../events.js';

// ---------------------------------------------------------------------------------------------------
// Snapshots, leases and the outbox

/** Exclusive ownership of one conversation, proven by a fencing token that only ever grows. */
export interface Lease {
  conversationId: string;
  owner: string;
  /** Monotonic per conversation: a later acquisition always holds a larger token. */
  token: number;
  /** Epoch milliseconds at which the lease lapses unless renewed. */
  expiresAt: number;
}

/**
 * What this process holds for one conversation it runs: the lease (its fencing token goes with every
 * write) and, for a new conversation, the topic delivery it came from, acknowledged by the first save and
 * given back if the conversation is lost before it. Made by the intake when it takes the lease, handed with
 * the work to the shard and from there to the conversation's persister: the ownership travels with the
 * conversation, never looked up. Not part of machine context (not serialisable).
 */
export interface Ownership {
  readonly conversationId: string;
  lease: Lease;
  delivery?: TopicDelivery;
}

export type ConversationStatus = 'active' | 'ended' | 'failed' | 'timedOut';

/** What is persisted for one conversation: a versioned actor snapshot plus what indexes need. */
export interface SnapshotRecord {
  schemaVersion: number;
  machineVersion: string;
  status: ConversationStatus;
  /** The XState persisted snapshot (JSON-serialisable, no clients or secrets). */
  snapshot: unknown;
  /** Epoch milliseconds of this write. */
  updatedAt: number;
}

export interface StoredSnapshot extends SnapshotRecord {
  conversationId: string;
  /** The fencing token of the write that produced this record. */
  token: number;
}

/** One event waiting in the outbox for delivery to the event bus. */
export interface OutboxEntry {
  /** Assigned by the store; increases in insertion order. */
  id: string;
  topic: keyof EventTopics;
  key: string;
  value: unknown;
  headers: Record<string, string>;
}

export type OutboxEvent = Omit<OutboxEntry, 'id'>;

export interface SnapshotStore {
  /** Takes the conversation if no live lease exists. Returns null when another owner holds it. */
  acquireLease(conversationId: string, owner: string, ttlMs: number): Promise<Lease | null>;
  /** Extends a lease still held with the same token; null when it was lost (expired and taken, or released). */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease | null>;
  /** Gives the conversation up; a no-op when the lease is no longer current. */
  releaseLease(lease: Lease): Promise<void>;
  /**
   * Atomically writes the snapshot and appends its events to the outbox, if and only if `lease.token`
   * is still the current fencing token. Finished conversations leave the active index and expire after
   * the retention period.
   * @throws {StaleLeaseError} when a newer owner holds the conversation (nothing is written).
   */
  save(lease: Lease, record: SnapshotRecord, events: OutboxEvent[]): Promise<void>;
  load(conversationId: string): Promise<StoredSnapshot | null>;
  /** Active (unfinished) conversations whose lease lapsed before `now`, oldest first: candidates for adoption. */
  listOrphaned(now: number, limit: number): Promise<string[]>;
  /** Counts by status, for `status` and metrics. */
  counts(): Promise<Record<ConversationStatus, number>>;
  /**
   * Counts one more crash of the conversation's actor and returns how many it has had, across every
   * owner and restart; the count is kept as long as a finished conversation is (the retention period).
   */
  countCrash(conversationId: string): Promise<number>;

  /** The oldest outbox entries, up to `limit`, in insertion order. */
  readOutbox(limit: number): Promise<OutboxEntry[]>;
  /** Removes delivered entries. */
  ackOutbox(ids: string[]): Promise<void>;
  outboxSize(): Promise<number>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Events

export interface BusMessage<V> {
  key: string;
  value: V;
  headers?: Record<string, string>;
}

export interface ReceivedMessage<V> extends Required<BusMessage<V>> {
  topic: string;
  partition: number;
  offset: string;
}

/** A message that failed validation, with the original bytes. */
export interface InvalidMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  raw: Buffer;
  reason: string;
}

export interface SubscribeOptions<V> {
  groupId: string;
  fromBeginning?: boolean;
  onMessage: (message: ReceivedMessage<V>) => Promise<void>;
  /** Called for a message whose bytes do not parse or validate; intake goes on after it returns. */
  onInvalid: (message: InvalidMessage) => Promise<void>;
}

export interface Subscription {
  stop(): Promise<void>;
}

/**
 * A typed event bus. Topics are logical names (`EventTopics`), mapped to physical topic names by the
 * adapter; every value is validated by the topic's zod schema on both sides.
 */
export interface EventBus {
  /** Resolves once every message is acknowledged by the bus (Kafka: acks=all). */
  publish<K extends keyof EventTopics>(topic: K, messages: BusMessage<EventTopics[K]>[]): Promise<void>;
  /** Publishes bytes that failed validation elsewhere, unvalidated (dead letters keep the original). */
  publishRaw(
    topic: keyof EventTopics | RawTopic,
    messages: { key: string | null; value: Buffer; headers: Record<string, string> }[],
  ): Promise<void>;
  subscribe<K extends keyof EventTopics>(
    topic: K,
    options: SubscribeOptions<EventTopics[K]>,
  ): Promise<Subscription>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Topic intake

/** A topic taken from a source, held until `ack` (conversation persisted) or returned by `release`. */
export interface TopicDelivery {
  topic: Topic;
  ack(): Promise<void>;
  /** Gives the topic back for another consumer (e.g. on shutdown before it started). */
  release(): Promise<void>;
}

export interface TopicSource {
  /** Waits up to `waitMs` for the next topic; null when none came. Invalid input is dead-lettered inside. */
  next(waitMs: number): Promise<TopicDelivery | null>;
  close(): Promise<void>;
}

/**
 * De-duplication of topics by id: the first delivery of an id claims it, and a later message with the
 * same id is a duplicate. A claim remembers which message (`origin`) took it, so a redelivery of that
 * same message (after a release, a crash or a rebalance, before its conversation was persisted) is let
 * through instead of being lost as its own duplicate. Once `complete` is called (the conversation is
 * persisted) every later delivery of the id is a duplicate, the same message included.
 */
export interface TopicClaims {
  /**
   * True when this delivery may start the topic: the id was unclaimed, or it is claimed by the same
   * origin and not completed.
   * @param origin identifies one message at its source (e.g. `kafka:topic:partition:offset`).
   */
  claim(id: string, origin: string): Promise<boolean>;
  /** The topic's conversation is persisted: from now on the id is taken for good. */
  complete(id: string): Promise<void>;
}

/** One message set aside for a person to look at: its original bytes, why, and where it came from. */
export interface ParkedMessage {
  key: string | null;
  value: Buffer;
  reason: string;
  /** Where it was read from (topic or queue name, partition, offset) or which event it was. */
  from: { topic: string; partition?: number; offset?: string };
  /** Epoch ms it was parked. */
  at: number;
}

/** A parked message as read back, with its id in the store (a Redis stream id). */
export interface StoredParkedMessage extends ParkedMessage {
  id: string;
}

/**
 * Where messages that cannot be handled are kept instead of blocking what comes after them: topic messages
 * whose intake kept failing (the dead-letter topic or the claim store unwritable), and events the bus
 * refuses. Bounded: past its length the oldest go first (Redis: a stream trimmed with `MAXLEN ~`).
 */
export interface ParkedMessages {
  park(message: ParkedMessage): Promise<void>;
  /** The oldest first, from after `afterId` (exclusive) when given. */
  read(limit: number, afterId?: string): Promise<StoredParkedMessage[]>;
  size(): Promise<number>;
}

// ---------------------------------------------------------------------------------------------------
// Providers

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface GenerateRequest {
  system: string;
  messages: ChatMessage[];
  maxTokens: number;
  temperature: number;
  signal?: AbortSignal;
  /** Stable per (conversationId, turnIndex): a repeated call with the same key is the same logical request. */
  idempotencyKey?: string;
  /**
   * Epoch ms. When the provider's circuit breaker is open, a resilient provider waits for the breaker's
   * probe if that comes before this time, instead of failing at once. The waits take none of the retry
   * budget, and the budget is not renewed by them: a call gets `RETRY_MAX_ATTEMPTS` real attempts in
   * all, however many times the breaker opened in between. @default fail at once while open
   */
  waitForBreakerUntil?: number;
  /**
   * Asks for a JSON answer that matches `schema`, through the provider's structured output (Anthropic: a
   * forced tool call; OpenAI: `response_format: json_schema`; Gemini: `responseSchema`). The result's
   * `text` is then that JSON, unvalidated: the caller parses it. @default a free-text answer
   */
  structured?: StructuredOutput;
  /** Calls this model instead of the adapter's configured one (the judge's `JUDGE_MODEL`). @default the adapter's */
  model?: string;
}

/** A JSON Schema (draft 2020-12 subset: object, properties, required, integer/number bounds, string, array, enum). */
export type JsonSchema = { [key: string]: unknown };

export interface StructuredOutput {
  /** Tool or schema name: letters, digits, `_` and `-`, as every provider accepts. */
  name: string;
  description: string;
  schema: JsonSchema;
}

export interface GenerateResult {
  text: string;
  model: string;
  stopReason: string;
  usage: Usage;
  latencyMs: number;
  requestId: string;
}

export interface HealthStatus {
  healthy: boolean;
  latencyMs: number;
  error?: string;
}

export interface LlmProvider {
  readonly name: string;
  readonly model: string;
  /** Opens what the client needs (connection pools, warm-up); idempotent. */
  start(): Promise<void>;
  /**
   * One model call. Rejects with a `ProviderError` (typed code, `retryable`) on failure.
   */
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /** A cheap, time-bounded call that says whether the provider answers. Never rejects. */
  healthCheck(): Promise<HealthStatus>;
}

// ---------------------------------------------------------------------------------------------------
// Batch APIs (Anthropic Message Batches, OpenAI Batch API, Gemini batch mode)

/** One request of a batch. `customId` encodes (conversationId, turnIndex, generation) and is unique per batch. */
export interface BatchRequest {
  customId: string;
  request: Omit<GenerateRequest, 'signal' | 'waitForBreakerUntil'>;
}

/** Where a submitted batch stands, in the provider-neutral vocabulary the batcher uses. */
export type BatchState = 'in_progress' | 'ended' | 'failed' | 'expired' | 'cancelling' | 'cancelled';

export interface BatchCounts {
  processing: number;
  succeeded: number;
  errored: number;
  expired: number;
  cancelled: number;
}

export interface BatchStatus {
  /** The provider's batch id. */
  id: string;
  state: BatchState;
  counts: BatchCounts;
  /** Epoch ms the provider gave for creation, when it did. */
  createdAt?: number;
}

/** A batch as the provider lists it. */
export interface ListedBatch extends BatchStatus {
  /** The tag given at submission (`submit(requests, { tag })`), where the API keeps one. */
  tag?: string;
  /** The requests it carries, when the listing says. */
  requests?: number;
}

/** What `submit` may attach to a batch beside its requests. */
export interface SubmitOptions {
  /**
   * Kept with the batch where the API allows it (OpenAI's metadata, Gemini's display name) and given back
   * by `list`, so a batch whose id was never recorded can be recognised without downloading anything.
   */
  tag?: string;
}

/** The answer to one request of a batch: a result, or a typed provider error (expired/cancelled included). */
export type BatchItemResult =
  | { customId: string; ok: true; result: GenerateResult }
  | { customId: string; ok: false; error: ProviderError };

/**
 * A provider's batch API through its official SDK. Results are only read once the batch is `ended`; each
 * request's answer carries the `customId` it was submitted with.
 */
export interface BatchApi {
  readonly provider: string;
  readonly model: string;
  /** The provider's limits per batch, checked by the batcher before it submits. */
  readonly limits: { maxRequests: number; maxBytes: number };
  /** True when `submit`'s tag comes back from `list`, so a tag that does not match rules a batch out. */
  readonly keepsTags?: boolean;
  submit(requests: readonly BatchRequest[], options?: SubmitOptions): Promise<BatchStatus>;
  retrieve(batchId: string): Promise<BatchStatus>;
  results(batchId: string): AsyncIterable<BatchItemResult>;
  cancel(batchId: string): Promise<BatchStatus>;
  /**
   * The provider's batches, newest first where the API orders them, at least all those created at or after
   * `since` (epoch ms); an adapter may stop once they are older. Optional: without it, a batch whose id was
   * never recorded cannot be found again.
   */
  list?(since: number): AsyncIterable<ListedBatch>;
}

/**
 * One submission of a batch as recorded before and after the provider saw it: the intent (with the custom
 * ids and requests it carries) is written first, the provider's batch id once it answered.
 */
export interface StoredBatch {
  /** Ours, made before submission. */
  intentId: string;
  provider: string;
  requests: BatchRequest[];
  /** The provider's batch id; null while the submission has not come back (or never will: a crash). */
  batchId: string | null;
  /** The daemon that polls it. */
  owner: string;
  /** Epoch ms the intent was recorded. */
  createdAt: number;
  /** Epoch ms the provider accepted the batch; null before. */
  submittedAt: number | null;
  /** Epoch ms until which `owner` holds it; after that another daemon may adopt it. */
  leaseUntil: number;
}

/** Oldest first; intents recorded in the same millisecond by id, so every adapter lists in one order. */
export function byAge(a: StoredBatch, b: StoredBatch): number {
  return a.createdAt - b.createdAt || (a.intentId < b.intentId ? -1 : a.intentId > b.intentId ? 1 : 0);
}

export interface BatchIntent {
  intentId: string;
  provider: string;
  requests: BatchRequest[];
  owner: string;
  at: number;
  leaseMs: number;
}

/**
 * The batches out, per provider, in durable storage: what a daemon that replaces a killed one reads to keep
 * polling them. A custom id is held by at most one intent at a time, which is what keeps a request from
 * being submitted twice; an intent gives its ids back when released (its batch answered, failed, or its
 * submission never reached the provider).
 */
export interface BatchStore {
  /**
   * Records the intent to submit, for the custom ids no other intent holds; atomically.
   * @returns the custom ids refused because another intent holds them (nothing is recorded for them; when
   * every id is refused nothing is recorded at all).
   */
  recordIntent(intent: BatchIntent): Promise<{ refused: string[] }>;
  /** The provider accepted the intent's batch under `batchId`. A no-op when the intent is gone. */
  recordSubmitted(intentId: string, provider: string, batchId: string, at: number): Promise<void>;
  /** Drops the intent and frees its custom ids; a no-op when it is already gone. */
  release(intentId: string, provider: string): Promise<void>;
  /** The intent holding `customId` now, if any. */
  holderOf(provider: string, customId: string): Promise<StoredBatch | null>;
  /** Every intent of the provider, oldest first. */
  list(provider: string): Promise<StoredBatch[]>;
  /** Extends the leases of the provider's intents `owner` holds to `now + leaseMs`. */
  renew(provider: string, owner: string, now: number, leaseMs: number): Promise<void>;
  /** Takes over the provider's intents whose lease lapsed before `now`; returns them as now held by `owner`. */
  adopt(provider: string, owner: string, now: number, leaseMs: number): Promise<StoredBatch[]>;
}

// ---------------------------------------------------------------------------------------------------
// Rate limiting

export interface RateLimitRequest {
  /** Requests to take (normally 1). */
  requests: number;
  /** Tokens to reserve: input estimate plus `maxTokens` as the output estimate. */
  tokens: number;
}

/** A granted slot; `settle` corrects the token reservation with actual usage. */
export interface RateLimitPermit {
  readonly waitedMs: number;
  settle(actualTokens: number): Promise<void>;
}

export interface RateLimiter {
  /**
   * Waits for a slot on both the request and token budgets.
   * @throws {ChimeraError} `rate_limit_wait_exceeded` when the wait would exceed `maxWaitMs`.
   */
  acquire(
    request: RateLimitRequest,
    options: { maxWaitMs: number; signal?: AbortSignal },
  ): Promise<RateLimitPermit>;
  /** A 429 came back anyway: slow down for `forMs` (the provider's retry-after when it gave one). */
  penalize(forMs: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Circuit-breaker states shared between daemons

/**
 * Where every daemon reports its breakers' states, one report per provider (the latest write wins, naming
 * the daemon): `chimera status` reads them, and a starting daemon starts its breakers from them.
 */
export interface BreakerStateStore {
  /** Replaces the provider's report. */
  write(provider: string, report: BreakerReport): Promise<void>;
  /** Every provider's last report; an entry that does not parse as a report is left out. */
  readAll(): Promise<Record<string, BreakerReport>>;
}

// ---------------------------------------------------------------------------------------------------
// Idempotent model calls

/** Identifies one generated turn: a regeneration after a nudge is a different generation of the same index. */
export interface TurnKey {
  conversationId: string;
  turnIndex: number;
  generation: number;
}

/**
 * Results of model calls by (conversation, turn, generation). A conversation resumed after a crash re-runs
 * the call that was in flight; the cache hands back the answer already paid for, and when two owners race
 * (a stale one not yet fenced) the first answer wins for both, so a turn never forks.
 */
export interface TurnCache {
  get(key: TurnKey): Promise<Turn | null>;
  /** Stores `turn` unless a result exists; resolves to the result that is kept. */
  putIfAbsent(key: TurnKey, turn: Turn): Promise<Turn>;
  /** Drops a conversation's results once it is no longer ours (finished or lost): its turns live on in the snapshot. */
  forget(conversationId: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Roles held by one process at a time

/** Holds one named role (e.g. the outbox relay) for one process at a time across every daemon sharing a store. */
export interface LeaderLock {
  /** Takes or keeps the role; false while another process holds it. Call it at least once per TTL to keep it. */
  tryHold(): Promise<boolean>;
  /** Gives the role up (a no-op when not held), so another process takes it without waiting for the TTL. */
  release(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Time

/** Injected clock: tests replace it with fake timers; machines and adapters never read Date directly. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
