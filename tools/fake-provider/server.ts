import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, type JsonSchema, systemClock } from '../../src/services/ports.js';
import { estimateTokens, generateDialogue } from '../../src/services/providers/simulated/dialogue.js';
import { sampleJson } from '../../src/services/providers/simulated/structured.js';
import { anthropicBatchRoutes } from './batch-dialects/anthropic.js';
import { geminiBatchRoutes } from './batch-dialects/gemini.js';
import { openaiBatchRoutes } from './batch-dialects/openai.js';
import type { BatchRoutes } from './batch-dialects/types.js';
import { type BatchBehaviour, type BatchIdCount, BatchStore, type FakeBatchState } from './batches.js';
import type { Dialect, FakeBehaviour, Operation, ReceivedRequest, Responder } from './behaviours.js';
import { BillKeeper, type FakeBill, type KeyCount } from './bill.js';
import { anthropicWire } from './dialects/anthropic.js';
import { geminiWire } from './dialects/gemini.js';
import { openaiWire } from './dialects/openai.js';
import { PromptCacheSimulator } from './prompt-cache.js';
import { type QuotaDecision, type QuotaLimits, SlidingWindowQuota } from './quota.js';
import {
  type DialectWire,
  type FailureKind,
  json,
  type ParsedCall,
  type ReplyInput,
  WireBadRequest,
  type WireResponse,
} from './wire.js';

/**
 * A fake LLM provider on one local HTTP port that speaks the three wire protocols Chimera's adapters use:
 * Anthropic Messages (`POST /v1/messages`), Gemini (`POST /v1beta/models/{model}:generateContent`, also
 * `/v1/...`) and OpenAI Chat Completions (`POST /v1/chat/completions`), plus the model lookups health
 * checks make. Point the real SDKs at it to exercise timeouts, 429s, overloads and malformed bodies over
 * real sockets, with no mock in the client.
 */

export interface FakeProviderServerOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /**
   * Seed of the text generator.
   * @default 1
   */
  seed?: number;
  /**
   * Delay before every answer, in milliseconds, unless a behaviour says otherwise.
   * @default 0
   */
  latencyMs?: number;
  /** Requests and tokens per minute the server enforces itself with 429s; none by default. */
  quota?: QuotaLimits;
  /** When set, only these keys are accepted; others get the provider's 401. */
  apiKeys?: readonly string[];
  /** Decides a behaviour per request when no scripted one is queued. */
  respond?: Responder;
  /**
   * Time source for the request log and the quota window.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Requests kept in the log (the oldest are dropped first).
   * @default 10_000
   */
  maxLoggedRequests?: number;
  /** How batches behave (processing delay, per-request errors and expiry, whole-batch outcome). */
  batch?: BatchBehaviour;
}

export interface FakeServerStats {
  total: number;
  /** By HTTP status sent; `client_closed` for requests the client gave up on first. */
  byStatus: Record<string, number>;
  byPath: Record<string, number>;
  byDialect: Record<Dialect, number>;
  /** 429s the server's own quota produced (scripted ones not included). */
  quotaRejections: number;
}

export interface FakeProviderServer {
  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  readonly url: string;
  readonly port: number;
  /** Base URLs as each SDK wants them (OpenAI's includes `/v1`). */
  readonly urls: { anthropic: string; gemini: string; openai: string };
  /** Queues behaviours for the next model calls (`generate` requests), in order. */
  script(...behaviours: FakeBehaviour[]): void;
  /** Installs (or removes) the per-request behaviour function. */
  respond(responder: Responder | undefined): void;
  setQuota(quota: QuotaLimits): void;
  stats(): FakeServerStats;
  /**
   * What the server served, counted and priced from its own price list (`price-list.ts`): tokens and
   * micro-dollars per provider and model. Also served over HTTP at `GET /_fake/bill`.
   */
  bill(): FakeBill;
  /** Model calls per `idempotency-key` header (sent and answered), in order of first arrival. */
  requestKeys(): KeyCount[];
  /** Sets how batches created from now on behave. */
  setBatchBehaviour(behaviour: BatchBehaviour): void;
  /**
   * Every custom id submitted in a batch, per dialect, with how many times it was submitted and answered:
   * the witness that no request went out twice. Also served over HTTP at `GET /_fake/batch-ids`.
   */
  batchCustomIds(): BatchIdCount[];
  /** Every batch the server holds, per dialect, with where it stands now (settled as a read would). */
  batchStates(): FakeBatchState[];
  /** The log of received requests, oldest first (a copy). */
  requests(): ReceivedRequest[];
  /** Forgets the script, log, counters, quota window and prompt cache; keeps options. */
  reset(): void;
  close(): Promise<void>;
}

interface Route {
  dialect: Dialect;
  operation: Operation;
  model?: string;
}

const WIRES: Record<Dialect, DialectWire> = {
  anthropic: anthropicWire,
  gemini: geminiWire,
  openai: openaiWire,
};

const BATCH_ROUTES: readonly BatchRoutes[] = [anthropicBatchRoutes, geminiBatchRoutes, openaiBatchRoutes];

const GEMINI_GENERATE = /^\/(v1|v1beta|v1alpha)\/models\/([^/:]+):generateContent$/;
const GEMINI_MODEL = /^\/(v1beta|v1alpha)\/models\/([^/:]+)$/;
const V1_MODEL = /^\/v1\/models\/([^/:]+)$/;

function lowerHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** Which protocol a request speaks. `/v1/models...` is shared, so headers tell Anthropic and Gemini apart. */
function route(
  method: string,
  path: string,
  headers: Record<string, string>,
  query: Record<string, string>,
): Route | undefined {
  const gemini = 'x-goog-api-key' in headers || 'x-goog-api-client' in headers || 'key' in query;
  const anthropic = 'anthropic-version' in headers;
  if (method === 'POST') {
    if (path === '/v1/messages') return { dialect: 'anthropic', operation: 'generate' };
    if (path === '/v1/chat/completions') return { dialect: 'openai', operation: 'generate' };
    const match = GEMINI_GENERATE.exec(path);
    if (match) return { dialect: 'gemini', operation: 'generate', model: decodeURIComponent(match[2]!) };
    return undefined;
  }
  if (method !== 'GET') return undefined;
  const geminiModel = GEMINI_MODEL.exec(path);
  if (geminiModel)
    return { dialect: 'gemini', operation: 'health', model: decodeURIComponent(geminiModel[2]!) };
  const v1Model = V1_MODEL.exec(path);
  if (v1Model) {
    const dialect: Dialect = anthropic ? 'anthropic' : gemini ? 'gemini' : 'openai';
    return { dialect, operation: 'health', model: decodeURIComponent(v1Model[1]!) };
  }
  if (path === '/v1/models' || path === '/v1beta/models') {
    const dialect: Dialect = anthropic
      ? 'anthropic'
      : gemini || path === '/v1beta/models'
        ? 'gemini'
        : 'openai';
    return { dialect, operation: 'health' };
  }
  return undefined;
}

const FAILURE_STATUS: Record<Exclude<FailureKind, 'status'>, number> = {
  rate_limited: 429,
  spend_limit: 429,
  server_error: 500,
  unavailable: 503,
  overloaded: 529,
  bad_request: 400,
  unauthorized: 401,
};

/** The request limit a scripted 429 claims in its rate-limit headers when the server enforces no quota. */
const SCRIPTED_REQUESTS_LIMIT = 50;

/** Largest request body accepted; conversations are text, far below this. */
const MAX_BODY_BYTES = 20 * 1024 * 1024;

export async function startFakeProviderServer(
  options: FakeProviderServerOptions = {},
): Promise<FakeProviderServer> {
  const clock = options.clock ?? systemClock;
  const seed = options.seed ?? 1;
  const maxLogged = options.maxLoggedRequests ?? 10_000;
  const quota = new SlidingWindowQuota(options.quota);
  const cache = new PromptCacheSimulator();
  const billing = new BillKeeper();
  const batches = new BatchStore({
    now: () => clock.now(),
    seed,
    serve: (_dialect, call, requestId) => answer(call, undefined, requestId),
    bill: (dialect, input) =>
      billing.served(
        dialect,
        input.model,
        {
          inputTokens: input.inputTokens,
          outputTokens: input.outputTokens,
          cacheReadTokens: input.cacheReadTokens ?? 0,
          cacheWriteTokens: input.cacheWriteTokens ?? 0,
        },
        undefined,
        { batch: true },
      ),
  });
  if (options.batch) batches.setBehaviour(options.batch);
  const queue: FakeBehaviour[] = [];
  let responder = options.respond;
  let log: ReceivedRequest[] = [];
  let seq = 0;
  let stats: FakeServerStats = emptyStats();
  // Pending latency waits, so `close()` can end them instead of leaving handlers suspended.
  const waits = new Map<NodeJS.Timeout, (alive: boolean) => void>();
  let closed = false;

  function emptyStats(): FakeServerStats {
    return {
      total: 0,
      byStatus: {},
      byPath: {},
      byDialect: { anthropic: 0, gemini: 0, openai: 0 },
      quotaRejections: 0,
    };
  }

  function wait(ms: number, response: ServerResponse): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(!response.destroyed);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waits.delete(timer);
        resolve(!response.destroyed && !closed);
      }, ms);
      waits.set(timer, resolve);
    });
  }

  function send(entry: ReceivedRequest, response: ServerResponse, wire: WireResponse): void {
    if (response.destroyed || response.writableEnded) return;
    response.writeHead(wire.status, { ...wire.headers, 'content-length': Buffer.byteLength(wire.body) });
    response.end(wire.body);
    entry.status = wire.status;
    entry.respondedAt = clock.now();
    if (entry.operation === 'generate' && wire.status === 200 && entry.served) {
      billing.served(entry.dialect, entry.served.model, entry.served, entry.headers['idempotency-key']);
    }
    stats.byStatus[String(wire.status)] = (stats.byStatus[String(wire.status)] ?? 0) + 1;
  }

  function quotaHeaders(wire: DialectWire, decision?: QuotaDecision): Record<string, string> {
    const limits = quota.current;
    const now = clock.now();
    if (!quota.enforced && !decision) return {};
    return wire.quotaHeaders({
      requestsLimit: limits.rpm ?? (decision ? SCRIPTED_REQUESTS_LIMIT : undefined),
      requestsRemaining: decision?.requestsRemaining ?? 0,
      tokensLimit: limits.tpm,
      tokensRemaining: decision?.tokensRemaining ?? 0,
      resetAt: decision?.resetAt ?? now + 60_000,
      now,
    });
  }

  function failure(
    wire: DialectWire,
    entry: ReceivedRequest,
    kind: FailureKind,
    status: number,
    extra: { message?: string; retryAfterSeconds?: number } = {},
  ): WireResponse {
    return wire.failure({
      kind,
      status,
      requestId: `fake${entry.seq}`,
      message: extra.message,
      apiKey: entry.apiKey,
      retryAfterSeconds: extra.retryAfterSeconds,
      now: clock.now(),
    });
  }

  function rateLimited(
    wire: DialectWire,
    entry: ReceivedRequest,
    behaviour: Extract<FakeBehaviour, { type: 'rate_limited' }>,
    decision?: QuotaDecision,
  ): WireResponse {
    const seconds = behaviour.retryAfterSeconds ?? 1;
    const wireResponse = failure(wire, entry, 'rate_limited', 429, { retryAfterSeconds: seconds });
    // Google signals the delay only inside the body (RetryInfo); the others use headers.
    if (wire.dialect !== 'gemini') {
      wireResponse.headers['retry-after'] = behaviour.retryAfterAsDate
        ? new Date(clock.now() + seconds * 1000).toUTCString()
        : String(seconds);
      if (behaviour.retryAfterMs !== undefined)
        wireResponse.headers['retry-after-ms'] = String(behaviour.retryAfterMs);
    }
    const exhausted: QuotaDecision = {
      allowed: false,
      retryAfterMs: seconds * 1000,
      requestsRemaining: 0,
      tokensRemaining: 0,
      resetAt: clock.now() + seconds * 1000,
    };
    Object.assign(wireResponse.headers, quotaHeaders(wire, decision ?? exhausted));
    return wireResponse;
  }

  /** The answer to a parsed call: generated text and the usage it is billed for. */
  function answer(
    call: ParsedCall,
    text: string | undefined,
    requestId: string,
    structuredOptions: { seq: number; malformedJson: boolean } = { seq: 0, malformedJson: false },
  ): ReplyInput {
    const structured = call.structured
      ? structuredAnswer(call.structured, structuredOptions.seq, structuredOptions.malformedJson)
      : undefined;
    const generated = structured
      ? { text: structured.text, stopReason: 'end_turn' as const }
      : text === undefined
        ? generateDialogue(call, seed)
        : { text, stopReason: 'end_turn' as const };
    const outputTokens = estimateTokens(generated.text);
    let inputTokens =
      estimateTokens(call.system) + call.messages.reduce((sum, m) => sum + estimateTokens(m.content), 0);
    let cacheReadTokens: number | undefined;
    let cacheWriteTokens: number | undefined;
    if (call.cacheSegments?.some((segment) => segment.breakpoint)) {
      const usage = cache.account(call.cacheSegments);
      ({ inputTokens, cacheReadTokens, cacheWriteTokens } = usage);
    }
    return {
      requestId,
      model: call.model,
      text: generated.text,
      stopReason: generated.stopReason,
      inputTokens,
      outputTokens,
      cacheReadTokens,
      cacheWriteTokens,
      now: clock.now(),
      ...(structured ? { toolCall: { name: call.structured!.name, input: structured.input } } : {}),
    };
  }

  function reply(
    wire: DialectWire,
    entry: ReceivedRequest,
    text: string | undefined,
    decisionHeaders: Record<string, string>,
    malformedJson = false,
  ): WireResponse {
    let call: ParsedCall;
    try {
      call = wire.parse(entry.body, entry.model);
    } catch (error) {
      if (!(error instanceof WireBadRequest)) throw error;
      return failure(wire, entry, 'bad_request', 400, { message: error.message });
    }
    const input = answer(call, text, `fake${entry.seq}`, { seq: entry.seq, malformedJson });
    if (quota.enforced) quota.addTokens(entry.at, input.outputTokens);
    entry.served = {
      model: call.model,
      inputTokens: input.inputTokens,
      outputTokens: input.outputTokens,
      cacheReadTokens: input.cacheReadTokens ?? 0,
      cacheWriteTokens: input.cacheWriteTokens ?? 0,
    };
    const response = wire.reply(input);
    Object.assign(response.headers, decisionHeaders);
    return response;
  }

  function healthAnswer(wire: DialectWire, entry: ReceivedRequest): WireResponse {
    const now = clock.now();
    if (entry.model) return json(200, wire.model(entry.model, now));
    return json(200, wire.models(['chimera-fake-model'], now));
  }

  async function execute(
    wire: DialectWire,
    entry: ReceivedRequest,
    behaviour: FakeBehaviour,
    response: ServerResponse,
    decision?: QuotaDecision,
  ): Promise<void> {
    entry.behaviour ??= behaviour.type;
    const alive = await wait(behaviour.latencyMs ?? options.latencyMs ?? 0, response);
    if (!alive) return;
    switch (behaviour.type) {
      case 'hang':
        // Say nothing; the client's timeout or abort closes the socket, or `close()` does.
        return;
      case 'reply': {
        if (entry.operation === 'health') return send(entry, response, healthAnswer(wire, entry));
        return send(entry, response, reply(wire, entry, behaviour.text, quotaHeaders(wire, decision)));
      }
      case 'malformed_json': {
        if (entry.operation === 'health') return send(entry, response, healthAnswer(wire, entry));
        return send(entry, response, reply(wire, entry, undefined, quotaHeaders(wire, decision), true));
      }
      case 'malformed': {
        const body = JSON.stringify({
          id: `fake${entry.seq}`,
          partial: true,
          content: [{ type: 'text', text: 'cut' }],
        });
        return send(entry, response, {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: body.slice(0, Math.floor(body.length / 2)),
        });
      }
      case 'rate_limited':
        return send(entry, response, rateLimited(wire, entry, behaviour, decision));
      case 'status':
        return send(
          entry,
          response,
          failure(wire, entry, 'status', behaviour.status, { message: behaviour.message }),
        );
      case 'bad_request':
        return send(
          entry,
          response,
          failure(wire, entry, 'bad_request', 400, { message: behaviour.message }),
        );
      default:
        return send(entry, response, failure(wire, entry, behaviour.type, FAILURE_STATUS[behaviour.type]));
    }
  }

  function choose(entry: ReceivedRequest): FakeBehaviour | undefined {
    if (entry.operation === 'generate' && queue.length > 0) return queue.shift();
    return responder?.(entry);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake.local');
    const path = url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const headers = lowerHeaders(request);
    const method = request.method ?? 'GET';

    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        response.writeHead(413).end();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const rawBytes = Buffer.concat(chunks);
    const raw = rawBytes.toString('utf8');

    // The witness's own accounts, for tests and runs that only reach the server over HTTP.
    const accounts: Record<string, () => unknown> = {
      '/_fake/bill': () => ({ ...billing.bill(), keys: billing.keyCounts() }),
      '/_fake/stats': () => structuredClone(stats),
      '/_fake/batch-ids': () => batches.customIds(),
    };
    if (method === 'GET' && accounts[path]) {
      const body = accounts[path]();
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }

    const batchRoutes = BATCH_ROUTES.find((routes) => routes.matches(method, path, headers));
    if (batchRoutes)
      return handleBatch(batchRoutes, request, response, { path, query, headers, method, raw, rawBytes });

    const found = route(method, path, headers, query);
    if (!found) {
      const body = JSON.stringify({ error: { message: `no route for ${method} ${path}` } });
      response.writeHead(404, { 'content-type': 'application/json' }).end(body);
      return;
    }
    const wire = WIRES[found.dialect];
    let body: unknown = raw;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        // Kept as text in the log; the dialect answers 400 below.
      }
    }
    seq += 1;
    const entry: ReceivedRequest = {
      seq,
      at: clock.now(),
      method,
      path,
      query,
      dialect: found.dialect,
      operation: found.operation,
      model: found.model,
      headers,
      apiKey: wire.apiKeyOf(headers, query),
      body,
    };
    log.push(entry);
    if (found.operation === 'generate') billing.sent(headers['idempotency-key']);
    if (log.length > maxLogged) log.splice(0, log.length - maxLogged);
    stats.total += 1;
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
    stats.byDialect[found.dialect] += 1;
    response.on('close', () => {
      if (entry.status === undefined) {
        entry.clientClosed = true;
        stats.byStatus.client_closed = (stats.byStatus.client_closed ?? 0) + 1;
      }
    });

    if (options.apiKeys && (!entry.apiKey || !options.apiKeys.includes(entry.apiKey))) {
      entry.behaviour = 'auth_rejected';
      return send(entry, response, failure(wire, entry, 'unauthorized', 401));
    }
    if (found.operation === 'generate' && typeof body === 'string' && raw !== '') {
      return send(
        entry,
        response,
        failure(wire, entry, 'bad_request', 400, { message: 'the body is not valid JSON' }),
      );
    }

    const chosen = choose(entry);
    if (chosen) return execute(wire, entry, chosen, response);

    if (found.operation === 'generate' && quota.enforced) {
      const decision = quota.admit(entry.at, estimateInput(entry.body));
      if (!decision.allowed) {
        stats.quotaRejections += 1;
        entry.behaviour = 'quota_exceeded';
        const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
        return execute(
          wire,
          entry,
          { type: 'rate_limited', retryAfterSeconds: seconds, latencyMs: 0 },
          response,
          decision,
        );
      }
      return execute(wire, entry, { type: 'reply' }, response, decision);
    }
    return execute(wire, entry, { type: 'reply' }, response);
  }

  async function handleBatch(
    routes: BatchRoutes,
    request: IncomingMessage,
    response: ServerResponse,
    http: {
      path: string;
      query: Record<string, string>;
      headers: Record<string, string>;
      method: string;
      raw: string;
      rawBytes: Buffer;
    },
  ): Promise<void> {
    const wire = WIRES[routes.dialect];
    let body: unknown = http.raw;
    if (http.raw !== '' && !(http.headers['content-type'] ?? '').startsWith('multipart/')) {
      try {
        body = JSON.parse(http.raw);
      } catch {
        // Kept as text; the handler refuses it.
      }
    }
    seq += 1;
    const entry: ReceivedRequest = {
      seq,
      at: clock.now(),
      method: http.method,
      path: http.path,
      query: http.query,
      dialect: routes.dialect,
      operation: 'batch',
      headers: http.headers,
      apiKey: wire.apiKeyOf(http.headers, http.query),
      // Uploaded files are kept as text; the batch store holds what they carried.
      body,
    };
    log.push(entry);
    if (log.length > maxLogged) log.splice(0, log.length - maxLogged);
    stats.total += 1;
    stats.byPath[http.path] = (stats.byPath[http.path] ?? 0) + 1;
    stats.byDialect[routes.dialect] += 1;
    if (options.apiKeys && (!entry.apiKey || !options.apiKeys.includes(entry.apiKey))) {
      entry.behaviour = 'auth_rejected';
      return send(entry, response, failure(wire, entry, 'unauthorized', 401));
    }
    const chosen = responder?.(entry);
    if (chosen && chosen.type !== 'reply') return execute(wire, entry, chosen, response);
    entry.behaviour = 'reply';
    const alive = await wait(chosen?.latencyMs ?? options.latencyMs ?? 0, response);
    if (!alive) return;
    const host = request.headers.host ?? `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const answered = await routes.handle({
      method: http.method,
      path: http.path,
      query: http.query,
      headers: http.headers,
      body,
      raw: http.rawBytes,
      baseUrl: `http://${host}`,
      now: clock.now(),
      store: batches,
    });
    return send(entry, response, answered);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent && !response.destroyed) {
        const message = error instanceof Error ? error.message : String(error);
        response
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message } }));
      }
    });
  });
  // Tests open many short-lived clients; do not keep idle sockets around after they finish.
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const base = `http://${host}:${address.port}`;

  return {
    url: base,
    port: address.port,
    urls: { anthropic: base, gemini: base, openai: `${base}/v1` },
    script: (...behaviours) => {
      queue.push(...behaviours);
    },
    respond: (next) => {
      responder = next;
    },
    setQuota: (limits) => quota.setLimits(limits),
    stats: () => structuredClone(stats),
    bill: () => billing.bill(),
    requestKeys: () => billing.keyCounts(),
    setBatchBehaviour: (behaviour) => batches.setBehaviour(behaviour),
    batchCustomIds: () => batches.customIds(),
    batchStates: () => batches.states(),
    requests: () => log.map((entry) => ({ ...entry })),
    reset: () => {
      queue.length = 0;
      log = [];
      seq = 0;
      stats = emptyStats();
      quota.reset();
      cache.clear();
      billing.clear();
      batches.clear();
      if (options.batch) batches.setBehaviour(options.batch);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      for (const [timer, resolve] of waits) {
        clearTimeout(timer);
        resolve(false);
      }
      waits.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
}

/**
 * The answer to a structured-output request: a value drawn from the schema, as JSON text and as the tool
 * input Anthropic sends; when malformed, the text is cut halfway and the tool input misses every field.
 */
function structuredAnswer(
  structured: { schema: JsonSchema },
  seq: number,
  malformed: boolean,
): { text: string; input: unknown } {
  const value = sampleJson(structured.schema, seq);
  const text = JSON.stringify(value);
  if (!malformed) return { text, input: value };
  return { text: text.slice(0, Math.floor(text.length / 2)), input: { unexpected: 'not the schema' } };
}

/** The input-token estimate the quota charges at admission, before the reply's tokens are known. */
function estimateInput(body: unknown): number {
  return typeof body === 'string' ? estimateTokens(body) : estimateTokens(JSON.stringify(body ?? ''));
}
