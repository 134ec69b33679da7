import { type FakeBatch, type FakeBatchItem, type ItemOutcome, tally } from '../batches.js';
import { geminiWire } from '../dialects/gemini.js';
import { json, WireBadRequest, type WireResponse } from '../wire.js';
import type { BatchHttpRequest, BatchRoutes } from './types.js';

/**
 * Gemini batch mode with inlined requests, as `@google/genai` 2.x calls it (Gemini Developer API):
 * `POST /v1beta/models/{model}:batchGenerateContent` with `{ batch: { displayName, inputConfig: { requests:
 * { requests: [{ request, metadata }] } } } }`, answered with a long-running operation whose `metadata` is the
 * batch (`state: BATCH_STATE_*`, `batchStats`, and once done `output.inlinedResponses.inlinedResponses`, in
 * request order, each with the request's `metadata` and a `response` or a `google.rpc.Status` `error`);
 * `GET /v1beta/batches/{id}`, `GET /v1beta/batches` (`{ operations, nextPageToken }`) and
 * `POST /v1beta/batches/{id}:cancel`. Gemini has no custom id: the adapter keeps it in `metadata`.
 */

const CREATE = /^\/(v1|v1beta|v1alpha)\/models\/([^/:]+):batchGenerateContent$/;
const LIST = /^\/(v1|v1beta|v1alpha)\/batches$/;
const ONE = /^\/(v1|v1beta|v1alpha)\/batches\/([^/:]+)(:cancel)?$/;
/** Inline requests are capped at 20 MB per batch (the request body). */
const MAX_INLINE_BYTES = 20 * 1024 * 1024;

/** google.rpc.Code values. */
const GRPC = { cancelled: 1, invalidArgument: 3, deadlineExceeded: 4, internal: 13, unavailable: 14 };

const STATUS_OF_CODE: Record<number, string> = {
  1: 'CANCELLED',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
};

function error(status: number, name: string, message: string): WireResponse {
  return json(status, { error: { code: status, message, status: name } });
}

function state(batch: FakeBatch): string {
  // A cancel takes effect at the next read; until then the job is still running.
  if (!batch.end) return 'BATCH_STATE_RUNNING';
  switch (batch.end.state) {
    case 'ended':
      return 'BATCH_STATE_SUCCEEDED';
    case 'failed':
      return 'BATCH_STATE_FAILED';
    case 'expired':
      return 'BATCH_STATE_EXPIRED';
    case 'cancelled':
      return 'BATCH_STATE_CANCELLED';
  }
}

function rpcStatus(code: number, message: string): Record<string, unknown> {
  return { code, message, status: STATUS_OF_CODE[code] };
}

function inlinedResponse(batch: FakeBatch, index: number, outcome: ItemOutcome): Record<string, unknown> {
  const metadata = batch.items[index]!.metadata;
  const entry: Record<string, unknown> = metadata ? { metadata } : {};
  switch (outcome.type) {
    case 'succeeded':
      entry.response = JSON.parse(geminiWire.reply(outcome.reply).body);
      break;
    case 'errored': {
      const code =
        outcome.kind === 'bad_request'
          ? GRPC.invalidArgument
          : outcome.kind === 'overloaded'
            ? GRPC.unavailable
            : GRPC.internal;
      entry.error = rpcStatus(code, outcome.message ?? 'An internal error has occurred.');
      break;
    }
    case 'expired':
      entry.error = rpcStatus(
        GRPC.deadlineExceeded,
        'The request was not processed before the batch deadline.',
      );
      break;
    case 'cancelled':
      entry.error = rpcStatus(GRPC.cancelled, 'The batch was cancelled before the request was processed.');
      break;
  }
  return entry;
}

function operation(batch: FakeBatch): Record<string, unknown> {
  const name = `batches/${batch.id}`;
  const counts = tally(batch);
  const metadata: Record<string, unknown> = {
    '@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch',
    name,
    model: `models/${batch.model}`,
    displayName: batch.extra.displayName ?? name,
    createTime: new Date(batch.createdAt).toISOString(),
    updateTime: new Date(batch.end?.at ?? batch.createdAt).toISOString(),
    state: state(batch),
    // int64 fields travel as strings in proto3 JSON.
    batchStats: {
      requestCount: String(batch.items.length),
      pendingRequestCount: String(counts.processing),
      successfulRequestCount: String(counts.succeeded),
      failedRequestCount: String(counts.errored + counts.expired + counts.cancelled),
    },
  };
  const op: Record<string, unknown> = { name, metadata };
  if (batch.end) {
    metadata.endTime = new Date(batch.end.at).toISOString();
    op.done = true;
    if (batch.end.state === 'ended' || batch.end.state === 'cancelled') {
      const inlinedResponses = batch.end.outcomes.map((outcome, index) =>
        inlinedResponse(batch, index, outcome),
      );
      metadata.output = { inlinedResponses: { inlinedResponses } };
      op.response = {
        '@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput',
        inlinedResponses: { inlinedResponses },
      };
    } else {
      op.error = rpcStatus(
        batch.end.state === 'expired' ? GRPC.deadlineExceeded : GRPC.internal,
        batch.end.state === 'expired' ? 'The batch expired before it was processed.' : 'The batch failed.',
      );
    }
  }
  return op;
}

function parseItems(body: unknown, model: string): Array<FakeBatchItem & { metadata?: unknown }> {
  const batch = (body as { batch?: { inputConfig?: { requests?: { requests?: unknown } } } } | null)?.batch;
  const requests = batch?.inputConfig?.requests?.requests;
  if (!Array.isArray(requests) || requests.length === 0) {
    throw new WireBadRequest('* batch.input_config: requests must not be empty');
  }
  return requests.map((raw: { request?: unknown; metadata?: Record<string, unknown> }) => {
    // Chimera's adapter keeps the custom id as `metadata.key`; anything else is logged by position.
    const key = raw?.metadata?.key;
    const customId = typeof key === 'string' ? key : '';
    try {
      return { customId, metadata: raw?.metadata, call: geminiWire.parse(raw?.request, model) };
    } catch (failure) {
      if (!(failure instanceof WireBadRequest)) throw failure;
      return { customId, metadata: raw?.metadata, invalid: failure.message };
    }
  });
}

export const geminiBatchRoutes: BatchRoutes = {
  dialect: 'gemini',
  matches(method, path, headers) {
    if (method === 'POST' && CREATE.test(path)) return true;
    // `/v1/batches` is OpenAI's too: Google's clients say who they are.
    const google = 'x-goog-api-key' in headers || 'x-goog-api-client' in headers || !path.startsWith('/v1/');
    return google && (LIST.test(path) || ONE.test(path));
  },
  async handle(request: BatchHttpRequest): Promise<WireResponse> {
    const { method, path, store } = request;
    const create = CREATE.exec(path);
    if (create) {
      if (request.raw.length > MAX_INLINE_BYTES) {
        return error(400, 'INVALID_ARGUMENT', 'Request payload size exceeds the limit: 20971520 bytes.');
      }
      const model = decodeURIComponent(create[2]!);
      let items: Array<FakeBatchItem & { metadata?: unknown }>;
      try {
        items = parseItems(request.body, model);
      } catch (failure) {
        if (failure instanceof WireBadRequest) return error(400, 'INVALID_ARGUMENT', failure.message);
        throw failure;
      }
      const displayName = (request.body as { batch?: { displayName?: unknown } }).batch?.displayName;
      const extra: Record<string, string> = typeof displayName === 'string' ? { displayName } : {};
      const batch = store.create('gemini', model, items, extra);
      const op = operation(batch);
      (op.metadata as Record<string, unknown>).state = 'BATCH_STATE_PENDING';
      return json(200, op);
    }
    if (LIST.test(path)) {
      if (method !== 'GET') return error(405, 'INVALID_ARGUMENT', `method ${method} not allowed`);
      return json(200, { operations: store.list('gemini').map(operation) });
    }
    const match = ONE.exec(path)!;
    const batch = store.get(decodeURIComponent(match[2]!), 'gemini');
    if (!batch) return error(404, 'NOT_FOUND', `Batch batches/${match[2]} not found.`);
    if (match[3] === ':cancel') {
      if (method !== 'POST') return error(405, 'INVALID_ARGUMENT', `method ${method} not allowed`);
      store.cancel(batch);
      return json(200, {});
    }
    if (method === 'DELETE') return json(200, {});
    return json(200, operation(batch));
  },
};
