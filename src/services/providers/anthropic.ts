import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk';
import type {
  MessageCreateParamsNonStreaming,
  MessageParam,
  TextBlockParam,
} from '@anthropic-ai/sdk/resources/messages/messages';
import type { ProviderConfig } from '../../config.js';
import { ConfigError, type ProviderError } from '../../errors.js';
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

const PROVIDER = 'anthropic';

/** Error codes in `error.details.error_code` that say a spend or billing limit was reached. */
const SPEND_LIMIT_CODES = new Set([
  'enforced_spend_limit_reached',
  'contract_spend_limit_reached',
  'linked_organization_spend_limit_reached',
  'linked_organization_billing_unavailable',
]);

/** Wording of spend-limit and credit errors from API versions that carry no `error_code`. */
const SPEND_LIMIT_TEXT = /credit balance|spend(ing)? limit|usage limits?|billing/i;

/**
 * Maps whatever the Anthropic SDK threw to a `ProviderError`. A 429 is `rate_limited` unless it is a spend
 * limit (`quota_exhausted`, not retryable); `overloaded_error` and 529 are `overloaded`.
 */
export function mapAnthropicError(
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
    const type = error.type ?? undefined;
    const message = error.apiMessage ?? error.message;
    const spendLimit =
      (error.errorCode !== null && SPEND_LIMIT_CODES.has(error.errorCode)) ||
      type === 'billing_error' ||
      ([400, 402, 403, 429].includes(status) && SPEND_LIMIT_TEXT.test(message));
    const code = codeForStatus(status, { spendLimit, overloaded: type === 'overloaded_error' });
    return providerError(code, type ? `${type}: ${message}` : message, {
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

/**
 * The conversation as Messages API input, with prompt-cache breakpoints on the system block and on the
 * last message: each turn re-sends the previous turns as an unchanged prefix, so the next call reads it
 * from the cache instead of paying for it again.
 */
export function toAnthropicRequest(request: GenerateRequest): {
  system?: TextBlockParam[];
  messages: MessageParam[];
} {
  const cache = { type: 'ephemeral' as const };
  const last = request.messages.length - 1;
  const messages: MessageParam[] = request.messages.map((message, index) =>
    index === last
      ? { role: message.role, content: [{ type: 'text', text: message.content, cache_control: cache }] }
      : { role: message.role, content: message.content },
  );
  // The API refuses an empty text block, so an empty system prompt is left out.
  const system: TextBlockParam[] | undefined = request.system
    ? [{ type: 'text', text: request.system, cache_control: cache }]
    : undefined;
  return system ? { system, messages } : { messages };
}

/** The forced tool call's input, as JSON text ('' when the model answered without calling the tool). */
function structuredText(content: readonly { type: string }[], tool: string): string {
  const call = content.find(
    (block): block is { type: 'tool_use'; name: string; input: unknown } =>
      block.type === 'tool_use' && (block as { name?: unknown }).name === tool,
  );
  return call === undefined ? '' : JSON.stringify(call.input);
}

export interface AnthropicProviderOptions extends ProviderAdapterOptions {
  /**
   * Send `temperature`: only models that still accept sampling parameters take it; newer ones answer 400.
   * @default false
   */
  sendTemperature?: boolean;
}

/**
 * `LlmProvider` over the Anthropic Messages API. SDK retries are off (the resilient wrapper owns retries),
 * the timeout comes from the config, and `usage.inputTokens` counts uncached input only, so the total is
 * input + cacheRead + cacheWrite + output.
 */
export class AnthropicProvider implements LlmProvider {
  readonly name = PROVIDER;
  readonly model: string;
  private client?: Anthropic;
  private readonly clock: Clock;

  constructor(
    private readonly config: ProviderConfig,
    private readonly options: AnthropicProviderOptions = {},
  ) {
    if (!config.apiKey) throw new ConfigError('ANTHROPIC_API_KEY', 'required for the anthropic provider');
    this.model = config.model;
    this.clock = options.clock ?? systemClock;
  }

  async start(): Promise<void> {
    this.sdk();
  }

  private sdk(): Anthropic {
    this.client ??= new Anthropic({
      apiKey: this.config.apiKey,
      // An explicit base URL wins; otherwise the SDK reads ANTHROPIC_BASE_URL itself.
      ...(this.config.baseUrl ? { baseURL: this.config.baseUrl } : {}),
      maxRetries: 0,
      timeout: this.config.timeoutMs,
    });
    return this.client;
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const client = this.sdk();
    const { system, messages } = toAnthropicRequest(request);
    const body: MessageCreateParamsNonStreaming = {
      model: request.model ?? this.model,
      max_tokens: request.maxTokens,
      messages,
    };
    if (system) body.system = system;
    // Structured output: one tool whose input schema is the answer's, and the model made to call it.
    const structured = request.structured;
    if (structured) {
      body.tools = [
        {
          name: structured.name,
          description: structured.description,
          input_schema: { ...structured.schema, type: 'object' },
        },
      ];
      body.tool_choice = { type: 'tool', name: structured.name };
    }
    // Current Claude models refuse sampling parameters (a 400 on every call), so temperature is opt-in.
    if (this.options.sendTemperature) Object.assign(body, { temperature: request.temperature });
    const { value: message, latencyMs } = await guardedCall(
      {
        provider: PROVIDER,
        apiKey: this.config.apiKey,
        timeoutMs: this.config.timeoutMs,
        signal: request.signal,
        clock: this.clock,
        mapError: (error) => mapAnthropicError(error, { apiKey: this.config.apiKey, clock: this.clock }),
      },
      (signal) =>
        client.messages.create(body, {
          signal,
          timeout: this.config.timeoutMs,
          maxRetries: 0,
          headers: idempotencyHeaders(request.idempotencyKey),
        }),
    );

    const requestId = (message as { _request_id?: string | null })._request_id ?? message?.id;
    const details = { provider: PROVIDER, apiKey: this.config.apiKey, requestId: requestId ?? undefined };
    if (!message || typeof message !== 'object' || !Array.isArray(message.content) || !message.usage) {
      throw providerError('bad_response', 'the response is not a Messages API message', details);
    }
    const text = structured
      ? structuredText(message.content, structured.name)
      : message.content
          .map((block) => (block.type === 'text' ? block.text : ''))
          .join('')
          .trim();
    if (text === '') {
      throw providerError('bad_response', `empty text (stop_reason ${message.stop_reason})`, details);
    }
    const usage = message.usage;
    return {
      text,
      model: message.model ?? body.model,
      stopReason: normalizeStopReason(message.stop_reason),
      usage: {
        inputTokens: usage.input_tokens ?? 0,
        outputTokens: usage.output_tokens ?? 0,
        ...(usage.cache_read_input_tokens != null ? { cacheReadTokens: usage.cache_read_input_tokens } : {}),
        ...(usage.cache_creation_input_tokens != null
          ? { cacheWriteTokens: usage.cache_creation_input_tokens }
          : {}),
      },
      latencyMs,
      requestId: requestId ?? '',
    };
  }

  /** Retrieves the configured model: free, authenticated, and says whether the model name exists. */
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
          mapError: (error) => mapAnthropicError(error, { apiKey: this.config.apiKey, clock: this.clock }),
        },
        (signal) => client.models.retrieve(this.model, {}, { signal, timeout: timeoutMs, maxRetries: 0 }),
      );
      return { healthy: true, latencyMs: this.clock.now() - startedAt };
    } catch (error) {
      return unhealthy(error, this.clock.now() - startedAt, this.config.apiKey);
    }
  }
}
