import { type FakeBatch, type FakeBatchItem, type ItemOutcome, tally } from '../batches.js';
import { anthropicWire } from '../dialects/anthropic.js';
import { json, WireBadRequest, type WireResponse } from '../wire.js';
import type { BatchHttpRequest, BatchRoutes } from './types.js';

/**
 * Anthropic Message Batches, as `client.messages.batches` calls them: `POST /v1/messages/batches`,
 * `GET /v1/messages/batches[/{id}]`, `POST /v1/messages/batches/{id}/cancel`, and the JSONL results at the
 * batch's `results_url` (`GET /v1/messages/batches/{id}/results`). A batch always ends as `ended`; what
 * became of each request (succeeded, errored, expired, canceled) is in its result line.
 */

const BATCHES = '/v1/messages/batches';
const ONE = /^\/v1\/messages\/batches\/([^/]+)(\/cancel|\/results)?$/;
/** The API's rule for `custom_id`. */
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;
/** Message Batches limits: 100,000 requests or 256 MB per batch. */
const MAX_REQUESTS = 100_000;
/** How long a batch has to finish before its unprocessed requests expire. */
const WINDOW_MS = 24 * 60 * 60 * 1000;

function invalid(message: string): WireResponse {
  return json(400, { type: 'error', error: { type: 'invalid_request_error', message } });
}

function notFound(id: string): WireResponse {
  return json(404, {
    type: 'error',
    error: { type: 'not_found_error', message: `No batch found with id ${id}` },
  });
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

function batchId(batch: FakeBatch): string {
  return `msgbatch_${batch.id}`;
}

function view(batch: FakeBatch, baseUrl: string): Record<string, unknown> {
  const counts = tally(batch);
  const ended = batch.end !== undefined;
  return {
    id: batchId(batch),
    type: 'message_batch',
    processing_status: ended ? 'ended' : batch.cancelRequestedAt !== undefined ? 'canceling' : 'in_progress',
    request_counts: {
      processing: counts.processing,
      succeeded: counts.succeeded,
      errored: counts.errored,
      expired: counts.expired,
      canceled: counts.cancelled,
    },
    created_at: iso(batch.createdAt),
    expires_at: iso(batch.createdAt + WINDOW_MS),
    ended_at: iso(batch.end?.at),
    archived_at: null,
    cancel_initiated_at: iso(batch.cancelRequestedAt),
    results_url: ended ? `${baseUrl}${BATCHES}/${batchId(batch)}/results` : null,
  };
}

function parseItems(body: unknown): FakeBatchItem[] {
  const requests = (body as { requests?: unknown } | null)?.requests;
  if (!Array.isArray(requests) || requests.length === 0) {
    throw new WireBadRequest('requests: at least one request is required');
  }
  if (requests.length > MAX_REQUESTS) {
    throw new WireBadRequest(`requests: at most ${MAX_REQUESTS} requests per batch`);
  }
  const seen = new Set<string>();
  return requests.map((raw: { custom_id?: unknown; params?: unknown }, index) => {
    const customId = raw?.custom_id;
    if (typeof customId !== 'string' || !CUSTOM_ID.test(customId)) {
      throw new WireBadRequest(
        `requests.${index}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`,
      );
    }
    if (seen.has(customId)) throw new WireBadRequest(`requests: duplicate custom_id ${customId}`);
    seen.add(customId);
    try {
      return { customId, call: anthropicWire.parse(raw.params, undefined) };
    } catch (error) {
      if (!(error instanceof WireBadRequest)) throw error;
      return { customId, invalid: error.message };
    }
  });
}

function resultLine(batch: FakeBatch, index: number): Record<string, unknown> {
  // A batch that failed as a whole (Anthropic has no such state) reports every request as errored.
  const outcome: ItemOutcome = batch.end!.outcomes[index] ?? {
    type: 'errored',
    kind: 'server_error',
    status: 500,
    message: 'the batch could not be processed',
  };
  const custom_id = batch.items[index]!.customId;
  switch (outcome.type) {
    case 'succeeded':
      return {
        custom_id,
        result: { type: 'succeeded', message: JSON.parse(anthropicWire.reply(outcome.reply).body) },
      };
    case 'errored': {
      const failure = anthropicWire.failure({
        kind: outcome.kind,
        status: outcome.status,
        requestId: `${batch.id}_${index}`,
        message: outcome.message,
        now: batch.end!.at,
      });
      return { custom_id, result: { type: 'errored', error: JSON.parse(failure.body) } };
    }
    case 'expired':
      return { custom_id, result: { type: 'expired' } };
    case 'cancelled':
      return { custom_id, result: { type: 'canceled' } };
  }
}

export const anthropicBatchRoutes: BatchRoutes = {
  dialect: 'anthropic',
  matches(_method, path) {
    return path === BATCHES || ONE.test(path);
  },
  async handle(request: BatchHttpRequest): Promise<WireResponse> {
    const { method, path, store, baseUrl } = request;
    if (path === BATCHES) {
      if (method === 'GET') {
        // Newest first; `after_id` pages on towards older batches, as the SDK's auto-pagination asks.
        const data = store.list('anthropic').map((batch) => view(batch, baseUrl));
        const limit = Math.min(1000, Math.max(1, Number(request.query.limit ?? 20) || 20));
        const after = request.query.after_id;
        const start = after ? data.findIndex((batch) => batch.id === after) + 1 : 0;
        const page = start === 0 && after ? [] : data.slice(start, start + limit);
        return json(200, {
          data: page,
          has_more: start + page.length < data.length && page.length > 0,
          first_id: page[0]?.id ?? null,
          last_id: page.at(-1)?.id ?? null,
        });
      }
      if (method !== 'POST') return invalid(`method ${method} not allowed`);
      let items: FakeBatchItem[];
      try {
        items = parseItems(request.body);
      } catch (error) {
        if (error instanceof WireBadRequest) return invalid(error.message);
        throw error;
      }
      const model = items.find((item) => item.call)?.call?.model ?? '';
      return json(200, view(store.create('anthropic', model, items), baseUrl));
    }
    const match = ONE.exec(path)!;
    const id = decodeURIComponent(match[1]!).replace(/^msgbatch_/, '');
    const batch = store.get(id, 'anthropic');
    if (!batch) return notFound(match[1]!);
    if (match[2] === '/cancel') {
      if (method !== 'POST') return invalid(`method ${method} not allowed`);
      store.cancel(batch);
      return json(200, view(batch, baseUrl));
    }
    if (match[2] === '/results') {
      if (!batch.end) return invalid(`Batch ${batchId(batch)} has not finished processing`);
      const lines = batch.items.map((_, index) => JSON.stringify(resultLine(batch, index)));
      return {
        status: 200,
        headers: { 'content-type': 'application/binary' },
        body: lines.length > 0 ? `${lines.join('\n')}\n` : '',
      };
    }
    if (method === 'DELETE') return json(200, { id: batchId(batch), type: 'message_batch_deleted' });
    return json(200, view(batch, baseUrl));
  },
};
