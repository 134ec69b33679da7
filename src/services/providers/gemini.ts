import {
  ApiError,
  type Content,
  type GenerateContentResponse,
  GoogleGenAI,
  type Schema,
  type Type,
} from '@google/genai';
import type { ProviderConfig } from '../../config.js';
import { ConfigError, type ProviderError } from '../../errors.js';
import {
  type Clock,
  type GenerateRequest,
  type GenerateResult,
  type HealthStatus,
  type JsonSchema,
  type LlmProvider,
  systemClock,
} from '../ports.js';
import { guardedCall } from './guarded-call.js';
import {
  codeForStatus,
  type HeaderSource,
  header,
  isParseError,
  looksLikeTimeout,
  parseDuration,
  parseRetryAfter,
  providerError,
} from './map-error.js';
import {
  healthTimeout,
  idempotencyHeaders,
  normalizeStopReason,
  type ProviderAdapterOptions,
  unhealthy,
} from './options.js';

const PROVIDER = 'gemini';

/** The REST API version the adapter speaks; `v1beta` carries every generation feature first. */
export const GEMINI_API_VERSION = 'v1beta';

interface GoogleErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: Array<Record<string, unknown>>;
  };
}

/** `@google/genai` puts the error body, as JSON text, in `ApiError.message`. */
function parseErrorBody(message: string): GoogleErrorBody['error'] | undefined {
  try {
    const body = JSON.parse(message) as GoogleErrorBody;
    return body && typeof body === 'object' && body.error && typeof body.error === 'object'
      ? body.error
      : undefined;
  } catch {
    // Not JSON: a proxy's text or HTML page. The raw message is used as it is.
    return undefined;
  }
}

function detailsOfType(error: GoogleErrorBody['error'], type: string): Array<Record<string, unknown>> {
  return (error?.details ?? []).filter(
    (detail) => typeof detail?.['@type'] === 'string' && (detail['@type'] as string).endsWith(type),
  );
}

const SPEND_TEXT =
  /\b(per ?day|daily)\b|credits? (are |is |have been )?(depleted|exhausted)|prepayment|spend(ing)? (cap|limit)|billing (account|limit|is not enabled|disabled)/i;

/**
 * Whether a RESOURCE_EXHAUSTED is a daily or billing quota (waiting minutes will not help) rather than a
 * per-minute rate limit. Per-minute 429s also say "check your plan and billing details", so the quota ids
 * decide first and the wording only when there are none.
 */
export function isGeminiSpendLimit(error: GoogleErrorBody['error']): boolean {
  if (!error) return false;
  const ids = detailsOfType(error, 'QuotaFailure')
    .flatMap((detail) => (Array.isArray(detail.violations) ? detail.violations : []))
    .map(
      (violation: { quotaId?: unknown; quotaMetric?: unknown }) =>
        `${violation.quotaId ?? ''} ${violation.quotaMetric ?? ''}`,
    );
  if (ids.some((id) => /PerDay|per_day|daily/i.test(id))) return true;
  if (ids.some((id) => /PerMinute|per_minute|PerSecond/i.test(id))) return false;
  const reasons = detailsOfType(error, 'ErrorInfo').map((detail) => String(detail.reason ?? ''));
  if (reasons.some((reason) => /BILLING/i.test(reason))) return true;
  return SPEND_TEXT.test(error.message ?? '');
}

/**
 * Maps whatever `@google/genai` threw to a `ProviderError`. `headers` are those of the failed response
 * (captured by the adapter, since `ApiError` carries only status and body).
 */
export function mapGeminiError(
  error: unknown,
  context: { apiKey?: string; clock?: Clock; headers?: HeaderSource } = {},
): ProviderError {
  const clock = context.clock ?? systemClock;
  const base = { provider: PROVIDER, apiKey: context.apiKey, cause: error };
  if (error instanceof ApiError) {
    const body = parseErrorBody(error.message);
    const status = error.status;
    const retryDelay = detailsOfType(body, 'RetryInfo')
      .map((detail) => parseDuration(detail.retryDelay))
      .find((ms) => ms !== undefined);
    const spendLimit = (status === 429 || body?.status === 'RESOURCE_EXHAUSTED') && isGeminiSpendLimit(body);
    const message = body ? `${body.status ?? status}: ${body.message ?? ''}` : error.message;
    return providerError(codeForStatus(status, { spendLimit }), message, {
      ...base,
      status,
      retryAfterMs: parseRetryAfter(context.headers, clock.now()) ?? retryDelay,
      requestId: header(context.headers, 'x-request-id'),
    });
  }
  if (isParseError(error)) return providerError('bad_response', `unparseable body: ${String(error)}`, base);
  if (looksLikeTimeout(error)) return providerError('timeout', String(error), base);
  if (error instanceof TypeError && /fetch failed/i.test(error.message)) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return providerError('server_error', `connection failed${cause}`, base);
  }
  const text = error instanceof Error ? error.message : String(error);
  return providerError('bad_response', text, base);
}

/** Gemini's roles are `user` and `model`; the system prompt travels apart, as `systemInstruction`. */
export function toGeminiContents(request: GenerateRequest): Content[] {
  return request.messages.map((message) => ({
    role: message.role === 'assistant' ? 'model' : 'user',
    parts: [{ text: message.content }],
  }));
}

function textOf(response: GenerateContentResponse): string {
  const parts = response.candidates?.[0]?.content?.parts ?? [];
  let text = '';
  for (const part of parts) if (typeof part.text === 'string' && !part.thought) text += part.text;
  return text.trim();
}

/** Keywords of a JSON Schema that Gemini's `Schema` (an OpenAPI 3.0 subset) knows as they are. */
const GEMINI_SCHEMA_KEYS = new Set([
  'description',
  'enum',
  'format',
  'maxItems',
  'maxLength',
  'maximum',
  'minItems',
  'minLength',
  'minimum',
  'nullable',
  'required',
]);

/**
 * A JSON Schema as Gemini's `responseSchema`: upper-case type names, `properties` and `items` converted in
 * turn, keywords Gemini refuses (`$schema`, `additionalProperties`) left out.
 */
export function toGeminiSchema(schema: JsonSchema): Schema {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'type' && typeof value === 'string') out.type = value.toUpperCase() as Type;
    else if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([name, inner]) => [
          name,
          toGeminiSchema(inner),
        ]),
      );
      out.propertyOrdering = Object.keys(value);
    } else if (key === 'items' && value && typeof value === 'object')
      out.items = toGeminiSchema(value as JsonSchema);
    else if (GEMINI_SCHEMA_KEYS.has(key)) out[key] = value;
  }
  return out as Schema;
}

export interface GeminiProviderOptions extends ProviderAdapterOptions {
  /**
   * Thinking budget in tokens for 2.5-series models; 0 turns thinking off where the model allows it, so
   * the whole `maxTokens` goes to the reply. Undefined leaves the model's default.
   * @default undefined
   */
  thinkingBudget?: number;
}

/**
 * `LlmProvider` over the Gemini API (`@google/genai`, `v1beta`). The SDK retries only when
 * `httpOptions.retryOptions` asks it to; the adapter pins one attempt so the resilient wrapper alone decides.
 * `usage.inputTokens` excludes cached content tokens (reported as `cacheReadTokens`); thinking tokens are
 * billed as output and counted in `outputTokens`.
 */
export class GeminiProvider implements LlmProvider {
  readonly name = PROVIDER;
  readonly model: string;
  private client?: GoogleGenAI;
  private readonly clock: Clock;

  constructor(
    private readonly config: ProviderConfig,
    private readonly options: GeminiProviderOptions = {},
  ) {
    if (!config.apiKey) throw new ConfigError('GOOGLE_API_KEY', 'required for the gemini provider');
    this.model = config.model;
    this.clock = options.clock ?? systemClock;
  }

  async start(): Promise<void> {
    this.sdk();
  }

  private sdk(): GoogleGenAI {
    this.client ??= new GoogleGenAI({
      apiKey: this.config.apiKey,
      apiVersion: GEMINI_API_VERSION,
      httpOptions: {
        // Without a base URL the SDK reads GOOGLE_GEMINI_BASE_URL itself, then uses Google's endpoint.
        ...(this.config.baseUrl ? { baseUrl: this.config.baseUrl } : {}),
        timeout: this.config.timeoutMs,
        retryOptions: { attempts: 1 },
      },
    });
    return this.client;
  }

  /** A fetch that remembers the last response, so error mapping can read its retry-after and request id. */
  private capturingFetch(): { fetch: typeof fetch; headers: () => Headers | undefined } {
    let last: Response | undefined;
    return {
      fetch: async (input, init) => {
        last = await fetch(input, init);
        return last;
      },
      headers: () => last?.headers,
    };
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const client = this.sdk();
    const capture = this.capturingFetch();
    const { value: response, latencyMs } = await guardedCall(
      {
        provider: PROVIDER,
        apiKey: this.config.apiKey,
        timeoutMs: this.config.timeoutMs,
        signal: request.signal,
        clock: this.clock,
        mapError: (error) =>
          mapGeminiError(error, {
            apiKey: this.config.apiKey,
            clock: this.clock,
            headers: capture.headers(),
          }),
      },
      (signal) =>
        client.models.generateContent({
          model: request.model ?? this.model,
          contents: toGeminiContents(request),
          config: {
            ...(request.system ? { systemInstruction: request.system } : {}),
            ...(request.structured
              ? {
                  responseMimeType: 'application/json',
                  responseSchema: toGeminiSchema(request.structured.schema),
                }
              : {}),
            maxOutputTokens: request.maxTokens,
            temperature: request.temperature,
            ...(this.options.thinkingBudget !== undefined
              ? { thinkingConfig: { thinkingBudget: this.options.thinkingBudget } }
              : {}),
            abortSignal: signal,
            httpOptions: { fetch: capture.fetch, headers: idempotencyHeaders(request.idempotencyKey) },
          },
        }),
    );

    const headers = capture.headers();
    const requestId = response?.responseId || header(headers, 'x-request-id') || '';
    const details = { provider: PROVIDER, apiKey: this.config.apiKey, requestId };
    if (!response || typeof response !== 'object') {
      throw providerError('bad_response', 'the response is not a GenerateContentResponse', details);
    }
    const text = textOf(response);
    const candidate = response.candidates?.[0];
    if (text === '') {
      const block = response.promptFeedback?.blockReason;
      const why = block ? `prompt blocked: ${block}` : `finishReason ${candidate?.finishReason ?? 'missing'}`;
      throw providerError('bad_response', `empty text (${why})`, details);
    }
    const usage = response.usageMetadata;
    const cached = usage?.cachedContentTokenCount ?? 0;
    return {
      text,
      model: response.modelVersion || request.model || this.model,
      stopReason: normalizeStopReason(candidate?.finishReason),
      usage: {
        inputTokens: Math.max(0, (usage?.promptTokenCount ?? 0) - cached),
        outputTokens: (usage?.candidatesTokenCount ?? 0) + (usage?.thoughtsTokenCount ?? 0),
        ...(cached > 0 ? { cacheReadTokens: cached } : {}),
      },
      latencyMs,
      requestId,
    };
  }

  /** Gets the configured model: free, authenticated, and says whether the model name exists. */
  async healthCheck(): Promise<HealthStatus> {
    const startedAt = this.clock.now();
    const timeoutMs = healthTimeout(this.options, this.config.timeoutMs);
    try {
      const client = this.sdk();
      const capture = this.capturingFetch();
      await guardedCall(
        {
          provider: PROVIDER,
          apiKey: this.config.apiKey,
          timeoutMs,
          clock: this.clock,
          mapError: (error) =>
            mapGeminiError(error, {
              apiKey: this.config.apiKey,
              clock: this.clock,
              headers: capture.headers(),
            }),
        },
        (signal) =>
          client.models.get({
            model: this.model,
            config: { abortSignal: signal, httpOptions: { timeout: timeoutMs, fetch: capture.fetch } },
          }),
      );
      return { healthy: true, latencyMs: this.clock.now() - startedAt };
    } catch (error) {
      return unhealthy(error, this.clock.now() - startedAt, this.config.apiKey);
    }
  }
}
