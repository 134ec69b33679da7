import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { ProviderConfig } from '../../config.js';
import type { ProviderError } from '../../errors.js';
import {
  type Clock,
  type GenerateRequest,
  type GenerateResult,
  type HealthStatus,
  type LlmProvider,
  systemClock,
} from '../ports.js';
import { guardedCall } from './guarded-call.js';
import {
  codeForStatus,
  isParseError,
  looksLikeTimeout,
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

const PROVIDER = 'openai';

/** Local servers (vLLM, Ollama, llama.cpp) ignore the key, but the SDK refuses to start without one. */
export const PLACEHOLDER_API_KEY = 'not-needed';

/** Error codes and types that mean the account is out of credit, not merely going too fast. */
const QUOTA_CODES = new Set(['insufficient_quota', 'billing_hard_limit_reached', 'billing_not_active']);
const QUOTA_TEXT = /check your plan and billing|insufficient (credits|balance|funds)|billing hard limit/i;

/**
 * Maps whatever the OpenAI SDK threw to a `ProviderError`. A 429 is `rate_limited` unless its code says
 * `insufficient_quota` (`quota_exhausted`, not retryable); a 402 (OpenRouter's "insufficient credits") is
 * `quota_exhausted` too.
 */
export function mapOpenAiError(
  error: unknown,
  context: { apiKey?: string; clock?: Clock } = {},
): ProviderError {
  const clock = context.clock ?? systemClock;
  const base = { provider: PROVIDER, apiKey: context.apiKey, cause: error };
  if (error instanceof APIConnectionTimeoutError) return providerError('timeout', error.message, base);
  if (error instanceof APIConnectionError) {
    const code = looksLikeTimeout(error) ? 'timeout' : 'server_error';
    return providerError(code, `connection failed: ${error.message}`, base);
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const codeText = typeof error.code === 'string' ? error.code : undefined;
    const spendLimit =
      (codeText !== undefined && QUOTA_CODES.has(codeText)) ||
      (error.type !== undefined && QUOTA_CODES.has(error.type)) ||
      (status === 429 && QUOTA_TEXT.test(error.message));
    return providerError(codeForStatus(status, { spendLimit }), error.message.replace(/^\d{3}\s+/, ''), {
      ...base,
      status,
      retryAfterMs: parseRetryAfter(error.headers, clock.now()),
      requestId: error.requestID ?? undefined,
    });
  }
  if (isParseError(error)) return providerError('bad_response', `unparseable body: ${String(error)}`, base);
  if (looksLikeTimeout(error)) return providerError('timeout', String(error), base);
  const text = error instanceof Error ? error.message : String(error);
  return providerError('bad_response', text, base);
}

export function toOpenAiMessages(request: GenerateRequest): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = request.system
    ? [{ role: 'system', content: request.system }]
    : [];
  for (const message of request.messages) messages.push({ role: message.role, content: message.content });
  return messages;
}

/** OpenAI's own API wants `max_completion_tokens` (reasoning models refuse `max_tokens`); compatible servers know `max_tokens`. */
function isOpenAiHosted(baseUrl: string | undefined): boolean {
  if (!baseUrl) return true;
  try {
    return new URL(baseUrl).hostname === 'api.openai.com';
  } catch {
    // An unparsable URL fails at the first request with a clear connection error; assume compatible here.
    return false;
  }
}

/** Some gateways (OpenRouter) answer 200 with an `error` object instead of a completion. */
function embeddedError(body: unknown): { code?: number; message: string } | undefined {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (!error || typeof error !== 'object') return undefined;
  return {
    code: typeof error.code === 'number' ? error.code : undefined,
    message: typeof error.message === 'string' ? error.message : JSON.stringify(error),
  };
}

/**
 * `LlmProvider` over the OpenAI Chat Completions API and everything that speaks it (vLLM, Ollama,
 * llama.cpp, OpenRouter) through `baseUrl`. SDK retries are off; `usage.inputTokens` excludes cached
 * prompt tokens, which are reported as `cacheReadTokens`.
 */
export class OpenAiProvider implements LlmProvider {
  readonly name = PROVIDER;
  readonly model: string;
  private client?: OpenAI;
  private readonly clock: Clock;
  private readonly hosted: boolean;

  constructor(
    private readonly config: ProviderConfig,
    private readonly options: ProviderAdapterOptions = {},
  ) {
    this.model = config.model;
    this.clock = options.clock ?? systemClock;
    this.hosted = isOpenAiHosted(config.baseUrl);
  }

  async start(): Promise<void> {
    this.sdk();
  }

  private sdk(): OpenAI {
    this.client ??= new OpenAI({
      apiKey: this.config.apiKey || PLACEHOLDER_API_KEY,
      ...(this.config.baseUrl ? { baseURL: this.config.baseUrl } : {}),
      maxRetries: 0,
      timeout: this.config.timeoutMs,
    });
    return this.client;
  }

  private mapError(error: unknown): ProviderError {
    return mapOpenAiError(error, { apiKey: this.config.apiKey, clock: this.clock });
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const client = this.sdk();
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: request.model ?? this.model,
      messages: toOpenAiMessages(request),
      temperature: request.temperature,
      ...(this.hosted ? { max_completion_tokens: request.maxTokens } : { max_tokens: request.maxTokens }),
      ...(request.structured
        ? {
            response_format: {
              type: 'json_schema',
              json_schema: {
                name: request.structured.name,
                description: request.structured.description,
                schema: request.structured.schema,
                strict: true,
              },
            },
          }
        : {}),
    };
    const { value, latencyMs } = await guardedCall(
      {
        provider: PROVIDER,
        apiKey: this.config.apiKey,
        timeoutMs: this.config.timeoutMs,
        signal: request.signal,
        clock: this.clock,
        mapError: (error) => this.mapError(error),
      },
      (signal) =>
        client.chat.completions
          .create(body, {
            signal,
            timeout: this.config.timeoutMs,
            maxRetries: 0,
            headers: idempotencyHeaders(request.idempotencyKey),
          })
          .withResponse(),
    );
    const completion: ChatCompletion | undefined = value.data;
    const requestId = value.request_id ?? completion?.id ?? '';
    const details = { provider: PROVIDER, apiKey: this.config.apiKey, requestId };

    const embedded = embeddedError(completion);
    if (embedded) {
      const code = embedded.code ? codeForStatus(embedded.code) : 'bad_response';
      throw providerError(code, embedded.message, { ...details, status: embedded.code });
    }
    const choice = Array.isArray(completion?.choices) ? completion.choices[0] : undefined;
    if (!completion || typeof completion !== 'object' || !choice) {
      throw providerError('bad_response', 'the response is not a chat completion', details);
    }
    const text = typeof choice.message?.content === 'string' ? choice.message.content.trim() : '';
    if (text === '') {
      const refusal = choice.message?.refusal ? `, refusal: ${choice.message.refusal}` : '';
      throw providerError(
        'bad_response',
        `empty text (finish_reason ${choice.finish_reason}${refusal})`,
        details,
      );
    }
    const usage = completion.usage;
    const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
    return {
      text,
      model: completion.model || body.model,
      stopReason: normalizeStopReason(choice.finish_reason),
      usage: {
        inputTokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached),
        outputTokens: usage?.completion_tokens ?? 0,
        ...(cached > 0 ? { cacheReadTokens: cached } : {}),
      },
      latencyMs,
      requestId,
    };
  }

  /** Lists models: free, authenticated, and implemented by every compatible server. */
  async healthCheck(): Promise<HealthStatus> {
    const startedAt = this.clock.now();
    const timeoutMs = healthTimeout(this.options, this.config.timeoutMs);
    try {
      const client = this.sdk();
      await guardedCall(
        {
          provider: PROVIDER,
          apiKey: this.config.apiKey,
          timeoutMs,
          clock: this.clock,
          mapError: (error) => this.mapError(error),
        },
        (signal) => client.models.list({ signal, timeout: timeoutMs, maxRetries: 0 }),
      );
      return { healthy: true, latencyMs: this.clock.now() - startedAt };
    } catch (error) {
      return unhealthy(error, this.clock.now() - startedAt, this.config.apiKey);
    }
  }
}
