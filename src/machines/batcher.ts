/**
 * The batcher of one provider, as a pure XState machine: it gathers the model calls of every conversation
 * whose turn is due, sends them as one batch through the provider's batch API, polls the batches out with
 * backoff, and hands each answer back. Every effect is an injected actor or action (`batcher.provide(...)`
 * at the composition root); the defaults throw, so a missing binding fails loudly.
 *
 * Two regions run side by side, so new requests are gathered while earlier batches are out:
 *
 *   intake:   idle --REQUEST--> collecting --BATCH_MAX_REQUESTS waiting, or BATCH_COLLECT_SECONDS--> submitting
 *             submitting --done--> next (submit again if a full batch waits, collect if some wait, else idle)
 *             submitting --error--> the requests go back once (a retryable failure), then fail
 *   tracking: idle --a batch is out--> waiting --poll delay (doubling to a cap)--> polling
 *             polling --a batch finished--> choosing --ended / cancelled--> reading (results) --> settling
 *                                             --failed / expired (whole batch)--> settling (resubmitted once, then failed)
 *             settling --> checking (another finished batch, or waiting, or idle)
 *   control:  running --CANCEL--> cancelling (the provider's batches) --> cancelled: queued and new requests fail
 *
 * A request whose answer is a retryable error (errored, expired, cancelled by the provider) goes into the
 * next batch, or online when `fallback` is `online`, up to `maxRequestRetries` times; anything else fails the
 * call with the provider's error. The batch's chunk respects the provider's `limits` (requests and bytes).
 */
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import { ProviderError } from '../errors.js';
import type {
  BatchItemResult,
  BatchRequest,
  BatchState,
  BatchStatus,
  GenerateResult,
} from '../services/ports.js';

/** Bumped whenever a change makes old persisted snapshots unreadable by this definition. */
export const BATCHER_MACHINE_VERSION = 'batcher@1';

export const BATCHER_DEFAULTS = {
  BATCH_MAX_REQUESTS: 1_000, // large enough to carry a turn round of a big run, well under every provider's cap
  BATCH_COLLECT_SECONDS: 30, // turns of one round finish within seconds of each other; the batch itself takes minutes to hours
  BATCH_POLL_MIN_SECONDS: 10, // a batch rarely ends sooner; polling faster only costs requests
  BATCH_POLL_MAX_SECONDS: 300, // a day-long batch is still picked up within five minutes of ending
  BATCH_MAX_REQUEST_RETRIES: 2, // an errored or expired request gets two more batches before its call fails
} as const;

/** One model call waiting for, or travelling in, a batch. */
export interface BatchItem {
  customId: string;
  request: BatchRequest['request'];
  /** Serialised size, checked against the provider's byte limit. */
  bytes: number;
  /** Times a per-request retryable error sent it round again. */
  retries: number;
  /** Times its whole batch failed or expired and it was resubmitted. */
  resubmissions: number;
}

/** A batch the provider accepted. */
export interface OutBatch {
  /** Our id for the submission, recorded before the provider saw it. */
  intentId: string;
  /** The provider's id. */
  batchId: string;
  items: BatchItem[];
  /** Epoch ms of the submission. */
  submittedAt: number;
  state: BatchState;
}

export interface SubmitInput {
  requests: BatchItem[];
}

export interface SubmitOutput {
  intentId: string;
  batchId: string;
  submittedAt: number;
  /** Custom ids already out in another batch (e.g. one a previous daemon sent): left out, answered by that batch. */
  refused: string[];
}

export interface ReadInput {
  batch: OutBatch;
}

export interface SettleInput {
  batch: OutBatch;
}

export interface CancelInput {
  batchIds: string[];
}

export interface BatcherInput {
  provider: string;
  limits: { maxRequests: number; maxBytes: number };
  /** Requests that trigger a flush. @default BATCHER_DEFAULTS.BATCH_MAX_REQUESTS, capped by `limits.maxRequests` */
  maxRequests?: number;
  /** @default BATCHER_DEFAULTS.BATCH_COLLECT_SECONDS * 1000 */
  collectMs?: number;
  /** @default BATCHER_DEFAULTS.BATCH_POLL_MIN_SECONDS * 1000 */
  pollMinMs?: number;
  /** @default BATCHER_DEFAULTS.BATCH_POLL_MAX_SECONDS * 1000 */
  pollMaxMs?: number;
  /** @default BATCHER_DEFAULTS.BATCH_MAX_REQUEST_RETRIES */
  maxRequestRetries?: number;
  /** Where a retryable per-request error goes. @default 'batch' */
  fallback?: 'batch' | 'online';
}

export interface BatcherContext {
  provider: string;
  maxRequests: number;
  maxBytes: number;
  collectMs: number;
  pollMinMs: number;
  pollMaxMs: number;
  maxRequestRetries: number;
  fallback: 'batch' | 'online';
  /** Waiting for the next batch, oldest first. */
  queue: BatchItem[];
  /** The chunk being submitted. */
  sending: BatchItem[];
  out: OutBatch[];
  /** The finished batch being read and settled. */
  current: OutBatch | null;
  pollDelayMs: number;
  cancelled: boolean;
}

export type BatcherEvent =
  /** A conversation's turn is due. */
  | { type: 'REQUEST'; item: Pick<BatchItem, 'customId' | 'request' | 'bytes'> }
  /** Batches found in the store (a previous daemon's), to poll and distribute. */
  | { type: 'ADOPT'; batches: OutBatch[] }
  /** Cancel every batch out; queued and later requests fail. */
  | { type: 'CANCEL' };

/** Why a request failed without a provider answer. */
export function batchFailure(provider: string, code: ProviderError['code'], message: string): ProviderError {
  return new ProviderError(code, message, { provider });
}

const notProvided = <Output, Input>(name: string) =>
  fromPromise<Output, Input>(async () => {
    throw new Error(`batcher machine: actor "${name}" was not provided`);
  });

const sizeOf = (items: readonly BatchItem[]) => items.reduce((sum, item) => sum + item.bytes, 0);

/** The oldest requests that fit the limits; always at least one (a single oversize request is the provider's to refuse). */
export function takeChunk(
  queue: readonly BatchItem[],
  maxRequests: number,
  maxBytes: number,
): { chunk: BatchItem[]; rest: BatchItem[] } {
  let bytes = 0;
  let count = 0;
  for (const item of queue) {
    if (count >= maxRequests || (count > 0 && bytes + item.bytes > maxBytes)) break;
    bytes += item.bytes;
    count += 1;
  }
  return { chunk: queue.slice(0, count), rest: queue.slice(count) };
}

const isFinished = (state: BatchState) =>
  state === 'ended' || state === 'failed' || state === 'expired' || state === 'cancelled';

export const batcherMachine = setup({
  types: {
    context: {} as BatcherContext,
    events: {} as BatcherEvent,
    input: {} as BatcherInput,
  },
  actors: {
    submitBatch: notProvided<SubmitOutput, SubmitInput>('submitBatch'),
    pollBatches: notProvided<BatchStatus[], { batchIds: string[] }>('pollBatches'),
    readResults: notProvided<BatchItemResult[], ReadInput>('readResults'),
    settleBatch: notProvided<void, SettleInput>('settleBatch'),
    cancelBatches: notProvided<void, CancelInput>('cancelBatches'),
  },
  actions: {
    /** Hands an answer to its call. */
    deliver: (_, _params: { customId: string; result: GenerateResult }) => {
      throw new Error('batcher machine: action "deliver" was not provided');
    },
    /** Fails a call with the provider's error. */
    fail: (_, _params: { customId: string; error: ProviderError }) => {
      throw new Error('batcher machine: action "fail" was not provided');
    },
    /** Sends a request online instead of in the next batch (`BATCH_FALLBACK=online`). */
    goOnline: (_, _params: { item: BatchItem }) => {
      throw new Error('batcher machine: action "goOnline" was not provided');
    },
    backOff: assign(({ context }) => ({
      pollDelayMs: Math.min(context.pollMaxMs, context.pollDelayMs * 2),
    })),
  },
  guards: {
    hasQueue: ({ context }) => context.queue.length > 0,
    queueFull: ({ context }) =>
      context.queue.length >= context.maxRequests || sizeOf(context.queue) > context.maxBytes,
    hasOut: ({ context }) => context.out.length > 0,
    someFinished: ({ context }) => context.out.some((batch) => isFinished(batch.state)),
    wholeBatchFailed: ({ context }) =>
      context.current?.state === 'failed' || context.current?.state === 'expired',
    isCancelled: ({ context }) => context.cancelled,
  },
  delays: {
    collect: ({ context }) => context.collectMs,
    pollDelay: ({ context }) => context.pollDelayMs,
  },
}).createMachine({
  id: 'batcher',
  context: ({ input }) => ({
    provider: input.provider,
    maxRequests: Math.max(
      1,
      Math.min(input.maxRequests ?? BATCHER_DEFAULTS.BATCH_MAX_REQUESTS, input.limits.maxRequests),
    ),
    maxBytes: input.limits.maxBytes,
    collectMs: input.collectMs ?? BATCHER_DEFAULTS.BATCH_COLLECT_SECONDS * 1000,
    pollMinMs: input.pollMinMs ?? BATCHER_DEFAULTS.BATCH_POLL_MIN_SECONDS * 1000,
    pollMaxMs: input.pollMaxMs ?? BATCHER_DEFAULTS.BATCH_POLL_MAX_SECONDS * 1000,
    maxRequestRetries: input.maxRequestRetries ?? BATCHER_DEFAULTS.BATCH_MAX_REQUEST_RETRIES,
    fallback: input.fallback ?? 'batch',
    queue: [],
    sending: [],
    out: [],
    current: null,
    pollDelayMs: input.pollMinMs ?? BATCHER_DEFAULTS.BATCH_POLL_MIN_SECONDS * 1000,
    cancelled: false,
  }),
  type: 'parallel',
  on: {
    REQUEST: [
      {
        guard: 'isCancelled',
        actions: enqueueActions(({ context, event, enqueue }) => {
          enqueue({
            type: 'fail',
            params: {
              customId: event.item.customId,
              error: batchFailure(context.provider, 'invalid_request', 'batches were cancelled'),
            },
          });
        }),
      },
      {
        actions: assign({
          queue: ({ context, event }) =>
            // A call already waiting (e.g. re-run after its conversation was restored) is not queued twice.
            context.queue.some((item) => item.customId === event.item.customId) ||
            context.sending.some((item) => item.customId === event.item.customId) ||
            context.out.some((batch) => batch.items.some((item) => item.customId === event.item.customId)) ||
            (context.current?.items.some((item) => item.customId === event.item.customId) ?? false)
              ? context.queue
              : [...context.queue, { ...event.item, retries: 0, resubmissions: 0 }],
        }),
      },
    ],
    ADOPT: {
      actions: assign({
        out: ({ context, event }) => [
          ...context.out,
          ...event.batches.filter((batch) => !context.out.some((known) => known.batchId === batch.batchId)),
        ],
      }),
    },
  },
  states: {
    intake: {
      initial: 'idle',
      states: {
        idle: {
          always: { guard: 'hasQueue', target: 'collecting' },
        },
        collecting: {
          always: { guard: 'queueFull', target: 'submitting' },
          after: { collect: 'submitting' },
        },
        submitting: {
          entry: assign(({ context }) => {
            const { chunk, rest } = takeChunk(context.queue, context.maxRequests, context.maxBytes);
            return { sending: chunk, queue: rest };
          }),
          invoke: {
            id: 'submit',
            src: 'submitBatch',
            input: ({ context }) => ({ requests: context.sending }),
            onDone: {
              target: 'next',
              actions: assign(({ context, event }) => {
                const refused = new Set(event.output.refused);
                const items = context.sending.filter((item) => !refused.has(item.customId));
                const out: OutBatch[] =
                  items.length === 0
                    ? context.out
                    : [
                        ...context.out,
                        {
                          intentId: event.output.intentId,
                          batchId: event.output.batchId,
                          items,
                          submittedAt: event.output.submittedAt,
                          state: 'in_progress',
                        },
                      ];
                return { out, sending: [] };
              }),
            },
            onError: {
              target: 'next',
              // A submission that failed is a whole batch that failed: its requests go round once more.
              actions: enqueueActions(({ context, event, enqueue }) => {
                const error = asProviderError(context.provider, event.error);
                const again: BatchItem[] = [];
                for (const item of context.sending) {
                  if (error.retryable && item.resubmissions < 1 && !context.cancelled)
                    again.push({ ...item, resubmissions: item.resubmissions + 1 });
                  else enqueue({ type: 'fail', params: { customId: item.customId, error } });
                }
                enqueue.assign({ queue: [...again, ...context.queue], sending: [] });
              }),
            },
          },
        },
        next: {
          always: [
            { guard: 'queueFull', target: 'submitting' },
            { guard: 'hasQueue', target: 'collecting' },
            { target: 'idle' },
          ],
        },
      },
    },
    tracking: {
      initial: 'idle',
      states: {
        idle: {
          always: { guard: 'hasOut', target: 'waiting' },
        },
        waiting: {
          after: { pollDelay: 'polling' },
        },
        polling: {
          invoke: {
            id: 'poll',
            src: 'pollBatches',
            input: ({ context }) => ({ batchIds: context.out.map((batch) => batch.batchId) }),
            onDone: {
              target: 'checking',
              actions: assign(({ context, event }) => {
                const out = context.out.map((batch) => {
                  const status = event.output.find((candidate) => candidate.id === batch.batchId);
                  return status ? { ...batch, state: status.state } : batch;
                });
                // Nothing finished: wait twice as long next time, up to the cap.
                const pollDelayMs = out.some((batch) => isFinished(batch.state))
                  ? context.pollDelayMs
                  : Math.min(context.pollMaxMs, context.pollDelayMs * 2);
                return { out, pollDelayMs };
              }),
            },
            onError: { target: 'waiting', actions: 'backOff' },
          },
        },
        checking: {
          always: [
            { guard: 'someFinished', target: 'choosing' },
            { guard: 'hasOut', target: 'waiting' },
            { target: 'idle' },
          ],
        },
        choosing: {
          entry: assign(({ context }) => {
            const current = context.out.find((batch) => isFinished(batch.state)) ?? null;
            return { current, out: context.out.filter((batch) => batch !== current) };
          }),
          always: [
            {
              guard: 'wholeBatchFailed',
              target: 'settling',
              actions: enqueueActions(({ context, enqueue }) => {
                const batch = context.current!;
                const error = batchFailure(
                  context.provider,
                  batch.state === 'expired' ? 'timeout' : 'server_error',
                  `batch ${batch.batchId} ${batch.state}`,
                );
                const again: BatchItem[] = [];
                for (const item of batch.items) {
                  if (item.resubmissions < 1 && !context.cancelled)
                    again.push({ ...item, resubmissions: item.resubmissions + 1 });
                  else enqueue({ type: 'fail', params: { customId: item.customId, error } });
                }
                enqueue.assign({ queue: [...again, ...context.queue] });
              }),
            },
            { target: 'reading' },
          ],
        },
        reading: {
          invoke: {
            id: 'read',
            src: 'readResults',
            input: ({ context }) => ({ batch: context.current! }),
            onDone: {
              target: 'settling',
              actions: enqueueActions(({ context, event, enqueue }) => {
                const results = event.output;
                const batch = context.current!;
                const byId = new Map(results.map((result) => [result.customId, result]));
                const again: BatchItem[] = [];
                for (const item of batch.items) {
                  const result =
                    byId.get(item.customId) ??
                    ({
                      customId: item.customId,
                      ok: false,
                      error: batchFailure(context.provider, 'bad_response', `no result for ${item.customId}`),
                    } satisfies BatchItemResult);
                  if (result.ok) {
                    enqueue({ type: 'deliver', params: { customId: item.customId, result: result.result } });
                  } else if (
                    result.error.retryable &&
                    item.retries < context.maxRequestRetries &&
                    !context.cancelled
                  ) {
                    const retried = { ...item, retries: item.retries + 1 };
                    if (context.fallback === 'online')
                      enqueue({ type: 'goOnline', params: { item: retried } });
                    else again.push(retried);
                  } else {
                    enqueue({ type: 'fail', params: { customId: item.customId, error: result.error } });
                  }
                }
                enqueue.assign({ queue: [...context.queue, ...again] });
              }),
            },
            // The results could not be read now: the batch stays out and is read after the next poll.
            onError: {
              target: 'waiting',
              actions: [
                assign(({ context }) => ({ out: [...context.out, context.current!], current: null })),
                'backOff',
              ],
            },
          },
        },
        settling: {
          invoke: {
            id: 'settle',
            src: 'settleBatch',
            input: ({ context }) => ({ batch: context.current! }),
            onDone: {
              target: 'checking',
              actions: assign(({ context }) => ({ current: null, pollDelayMs: context.pollMinMs })),
            },
            // The store keeps a settled batch listed; a later daemon re-reads it, and the turn cache keeps the first answers.
            onError: {
              target: 'checking',
              actions: assign(({ context }) => ({ current: null, pollDelayMs: context.pollMinMs })),
            },
          },
        },
      },
    },
    control: {
      initial: 'running',
      states: {
        running: {
          on: { CANCEL: 'cancelling' },
        },
        cancelling: {
          entry: enqueueActions(({ context, enqueue }) => {
            for (const item of [...context.queue]) {
              enqueue({
                type: 'fail',
                params: {
                  customId: item.customId,
                  error: batchFailure(context.provider, 'invalid_request', 'batches were cancelled'),
                },
              });
            }
            enqueue.assign({ queue: [], cancelled: true });
          }),
          invoke: {
            id: 'cancel',
            src: 'cancelBatches',
            input: ({ context }) => ({ batchIds: context.out.map((batch) => batch.batchId) }),
            onDone: 'cancelled',
            onError: 'cancelled',
          },
        },
        cancelled: {},
      },
    },
  },
});

/** Whatever the submit actor threw, as a provider error (unknown failures count as retryable server errors). */
function asProviderError(provider: string, error: unknown): ProviderError {
  if (error instanceof ProviderError) return error;
  const candidate = error as { code?: string; retryable?: boolean; message?: string } | undefined;
  if (candidate && typeof candidate.code === 'string' && typeof candidate.retryable === 'boolean')
    return batchFailure(
      provider,
      candidate.code as ProviderError['code'],
      candidate.message ?? 'batch submission failed',
    );
  return batchFailure(provider, 'server_error', String(candidate?.message ?? error));
}

export type BatcherMachine = typeof batcherMachine;

/** Where the tracking region is, for status and metrics. */
export function batcherPhase(value: unknown): { intake: string; tracking: string; control: string } {
  return value as { intake: string; tracking: string; control: string };
}
