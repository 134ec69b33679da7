import { type FakeBatch, type FakeBatchItem, type FakeFile, tally } from '../batches.js';
import { openaiWire } from '../dialects/openai.js';
import { json, WireBadRequest, type WireResponse } from '../wire.js';
import type { BatchHttpRequest, BatchRoutes } from './types.js';

/**
 * The OpenAI Batch API as the SDK calls it: `client.files.create({ purpose: 'batch' })` (multipart
 * `POST /v1/files` of a JSONL file, one `{ custom_id, method, url, body }` per line),
 * `client.batches.create/retrieve/list/cancel` (`/v1/batches...`), and the output and error files through
 * `client.files.content` (`GET /v1/files/{id}/content`). Requests that failed, expired or were cancelled
 * are in the error file; the answers in the output file.
 */

const FILES = '/v1/files';
const FILE = /^\/v1\/files\/([^/]+)(\/content)?$/;
const BATCHES = '/v1/batches';
const BATCH = /^\/v1\/batches\/([^/]+)(\/cancel)?$/;
const ENDPOINT = '/v1/chat/completions';
/** Batch API limits: 50,000 requests and 200 MB per input file. */
const MAX_REQUESTS = 50_000;
const MAX_FILE_BYTES = 200 * 1024 * 1024;
const WINDOW_MS = 24 * 60 * 60 * 1000;

function invalid(message: string, status = 400, param: string | null = null): WireResponse {
  return json(status, { error: { message, type: 'invalid_request_error', param, code: null } });
}

function seconds(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.floor(ms / 1000);
}

function fileView(file: FakeFile): Record<string, unknown> {
  return {
    id: file.id,
    object: 'file',
    bytes: Buffer.byteLength(file.content),
    created_at: seconds(file.createdAt),
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    status_details: null,
  };
}

function parseLines(content: string): FakeBatchItem[] {
  const lines = content.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) throw new WireBadRequest('The batch input file is empty.');
  if (lines.length > MAX_REQUESTS) {
    throw new WireBadRequest(`The batch input file has more than ${MAX_REQUESTS} requests.`);
  }
  const seen = new Set<string>();
  return lines.map((line, index) => {
    let parsed: { custom_id?: unknown; method?: unknown; url?: unknown; body?: unknown };
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new WireBadRequest(`Line ${index + 1}: invalid JSON.`);
    }
    if (typeof parsed.custom_id !== 'string' || parsed.custom_id === '') {
      throw new WireBadRequest(`Line ${index + 1}: custom_id is required.`);
    }
    if (seen.has(parsed.custom_id)) {
      throw new WireBadRequest(`Line ${index + 1}: duplicate custom_id ${parsed.custom_id}.`);
    }
    seen.add(parsed.custom_id);
    if (parsed.method !== 'POST' || parsed.url !== ENDPOINT) {
      throw new WireBadRequest(`Line ${index + 1}: only POST ${ENDPOINT} is supported here.`);
    }
    try {
      return { customId: parsed.custom_id, call: openaiWire.parse(parsed.body, undefined) };
    } catch (error) {
      if (!(error instanceof WireBadRequest)) throw error;
      return { customId: parsed.custom_id, invalid: error.message };
    }
  });
}

const ERROR_CODES = { expired: 'batch_expired', cancelled: 'batch_cancelled' } as const;

/** Writes the output and error files of an ended batch, once. */
function ensureFiles(batch: FakeBatch, request: BatchHttpRequest): void {
  const end = batch.end;
  if (!end || batch.extra.filesWritten) return;
  batch.extra.filesWritten = '1';
  const output: string[] = [];
  const errors: string[] = [];
  batch.items.forEach((item, index) => {
    const outcome = end.outcomes[index];
    const id = `batch_req_${batch.id}_${index}`;
    if (!outcome) return;
    if (outcome.type === 'succeeded') {
      const wire = openaiWire.reply(outcome.reply);
      output.push(
        JSON.stringify({
          id,
          custom_id: item.customId,
          response: { status_code: 200, request_id: `req_${id}`, body: JSON.parse(wire.body) },
          error: null,
        }),
      );
    } else if (outcome.type === 'errored') {
      const wire = openaiWire.failure({
        kind: outcome.kind,
        status: outcome.status,
        requestId: id,
        message: outcome.message,
        now: end.at,
      });
      errors.push(
        JSON.stringify({
          id,
          custom_id: item.customId,
          response: { status_code: outcome.status, request_id: `req_${id}`, body: JSON.parse(wire.body) },
          error: null,
        }),
      );
    } else {
      const message =
        outcome.type === 'expired'
          ? 'This request could not be executed before the completion window expired.'
          : 'This request was cancelled before it was executed.';
      errors.push(
        JSON.stringify({
          id,
          custom_id: item.customId,
          response: null,
          error: { code: ERROR_CODES[outcome.type], message },
        }),
      );
    }
  });
  if (output.length > 0) {
    batch.extra.outputFileId = request.store.putFile(
      'batch_output',
      `${batch.id}_output.jsonl`,
      `${output.join('\n')}\n`,
    ).id;
  }
  if (errors.length > 0) {
    batch.extra.errorFileId = request.store.putFile(
      'batch_output',
      `${batch.id}_error.jsonl`,
      `${errors.join('\n')}\n`,
    ).id;
  }
}

function status(batch: FakeBatch): string {
  if (!batch.end) return batch.cancelRequestedAt !== undefined ? 'cancelling' : 'in_progress';
  return { ended: 'completed', failed: 'failed', expired: 'expired', cancelled: 'cancelled' }[
    batch.end.state
  ];
}

function view(batch: FakeBatch, request: BatchHttpRequest): Record<string, unknown> {
  ensureFiles(batch, request);
  const counts = tally(batch);
  const end = batch.end;
  const at = (state: string) => (end?.state === state ? seconds(end.at) : null);
  return {
    id: `batch_${batch.id}`,
    object: 'batch',
    endpoint: ENDPOINT,
    model: batch.model,
    errors:
      end?.state === 'failed'
        ? {
            object: 'list',
            data: [
              {
                code: batch.extra.failureCode ?? 'batch_failed',
                message: batch.extra.failure ?? 'The batch failed.',
                param: null,
                line: null,
              },
            ],
          }
        : null,
    input_file_id: batch.extra.inputFileId,
    completion_window: '24h',
    status: status(batch),
    output_file_id: batch.extra.outputFileId ?? null,
    error_file_id: batch.extra.errorFileId ?? null,
    created_at: seconds(batch.createdAt),
    in_progress_at: seconds(batch.createdAt),
    expires_at: seconds(batch.createdAt + WINDOW_MS),
    finalizing_at: end?.state === 'ended' ? seconds(end.at) : null,
    completed_at: at('ended'),
    failed_at: at('failed'),
    expired_at: at('expired'),
    cancelling_at: seconds(batch.cancelRequestedAt),
    cancelled_at: at('cancelled'),
    request_counts: {
      total: batch.items.length,
      completed: counts.succeeded,
      // Requests that expired or were cancelled are neither completed nor failed.
      failed: end?.state === 'failed' ? 0 : counts.errored,
    },
    metadata: batch.extra.metadata ? JSON.parse(batch.extra.metadata) : null,
  };
}

async function upload(request: BatchHttpRequest): Promise<WireResponse> {
  const type = request.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) return invalid('Expected a multipart/form-data body.');
  if (request.raw.length > MAX_FILE_BYTES) return invalid('The file is larger than 200 MB.', 413);
  let form: FormData;
  try {
    form = await new Response(request.raw, { headers: { 'content-type': type } }).formData();
  } catch {
    return invalid('The multipart body could not be parsed.');
  }
  const purpose = form.get('purpose');
  const file = form.get('file');
  if (typeof purpose !== 'string') return invalid("Missing required parameter: 'purpose'.", 400, 'purpose');
  if (!file || typeof file === 'string') return invalid("Missing required parameter: 'file'.", 400, 'file');
  const stored = request.store.putFile(purpose, (file as File).name || 'upload.jsonl', await file.text());
  return json(200, fileView(stored));
}

function createBatch(request: BatchHttpRequest): WireResponse {
  const body = request.body as {
    input_file_id?: unknown;
    endpoint?: unknown;
    completion_window?: unknown;
    metadata?: unknown;
  };
  const metadata = body?.metadata;
  if (metadata !== undefined && metadata !== null) {
    // The API's rule: at most 16 pairs, keys up to 64 characters, string values up to 512.
    const entries = typeof metadata === 'object' ? Object.entries(metadata as object) : [];
    if (
      typeof metadata !== 'object' ||
      entries.length > 16 ||
      entries.some(([key, value]) => key.length > 64 || typeof value !== 'string' || value.length > 512)
    )
      return invalid(
        'metadata: at most 16 string pairs, keys up to 64 and values up to 512 characters.',
        400,
        'metadata',
      );
  }
  if (typeof body?.input_file_id !== 'string') return invalid("Missing required parameter: 'input_file_id'.");
  if (body.endpoint !== ENDPOINT) return invalid(`endpoint must be ${ENDPOINT} here.`, 400, 'endpoint');
  if (body.completion_window !== '24h')
    return invalid("completion_window must be '24h'.", 400, 'completion_window');
  const file = request.store.file(body.input_file_id);
  if (!file) return invalid(`No such File object: ${body.input_file_id}`, 404, 'input_file_id');
  if (file.purpose !== 'batch')
    return invalid("The input file's purpose must be 'batch'.", 400, 'input_file_id');
  let items: FakeBatchItem[] = [];
  let failure: string | undefined;
  try {
    items = parseLines(file.content);
  } catch (error) {
    if (!(error instanceof WireBadRequest)) throw error;
    // Validation happens after creation: the batch is created, then fails with the reason.
    failure = error.message;
  }
  const model = items.find((item) => item.call)?.call?.model ?? '';
  const batch = request.store.create('openai', model, items, {
    inputFileId: file.id,
    ...(metadata ? { metadata: JSON.stringify(metadata) } : {}),
  });
  if (failure !== undefined) {
    batch.extra.failure = failure;
    batch.extra.failureCode = 'invalid_request';
    request.store.fail(batch);
  }
  return json(200, view(batch, request));
}

export const openaiBatchRoutes: BatchRoutes = {
  dialect: 'openai',
  matches(_method, path) {
    return path === FILES || FILE.test(path) || path === BATCHES || BATCH.test(path);
  },
  async handle(request: BatchHttpRequest): Promise<WireResponse> {
    const { method, path, store } = request;
    if (path === FILES) {
      if (method === 'POST') return upload(request);
      return invalid(`method ${method} not supported on ${FILES}`, 405);
    }
    const fileMatch = FILE.exec(path);
    if (fileMatch) {
      const file = store.file(decodeURIComponent(fileMatch[1]!));
      if (!file) return invalid(`No such File object: ${fileMatch[1]}`, 404, 'id');
      if (fileMatch[2] === '/content') {
        return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: file.content };
      }
      return json(200, fileView(file));
    }
    if (path === BATCHES) {
      if (method === 'POST') return createBatch(request);
      const all = store.list('openai');
      const after = request.query.after;
      const start = after ? all.findIndex((batch) => `batch_${batch.id}` === after) + 1 : 0;
      const limit = Math.min(100, Math.max(1, Number(request.query.limit ?? 20) || 20));
      const page = all.slice(start, start + limit).map((batch) => view(batch, request));
      return json(200, {
        object: 'list',
        data: page,
        first_id: page[0]?.id ?? null,
        last_id: page.at(-1)?.id ?? null,
        has_more: start + limit < all.length,
      });
    }
    const match = BATCH.exec(path)!;
    const batch = store.get(decodeURIComponent(match[1]!).replace(/^batch_/, ''), 'openai');
    if (!batch) return invalid(`No batch found with id '${match[1]}'.`, 404);
    if (match[2] === '/cancel') {
      if (method !== 'POST') return invalid(`method ${method} not supported`, 405);
      store.cancel(batch);
    }
    return json(200, view(batch, request));
  },
};
