import Anthropic from '@anthropic-ai/sdk';
import type {
  MessageBatch,
  MessageBatchIndividualResponse,
} from '@anthropic-ai/sdk/resources/messages/batches';
import type { MessageCreateParamsNonStreaming } from '@anthropic-ai/sdk/resources/messages/messages';
import type { ProviderConfig } from '../../../config.js';
import { ConfigError, type ProviderError } from '../../../errors.js';
import {
  type BatchApi,
  type BatchItemResult,
  type BatchRequest,
  type BatchState,
  type BatchStatus,
  type Clock,
  type GenerateResult,
  type ListedBatch,
  systemClock,
} from '../../ports.js';
import { mapAnthropicError, toAnthropicRequest } from '../anthropic.js';
import { codeForStatus, providerError } from '../map-error.js';
import { normalizeStopReason } from '../options.js';
import {
  type BatchAdapterOptions,
  cancelledError,
  checkBatch,
  checkBytes,
  elapsedMs,
  expiredError,
  parseTime,
  requireFinished,
} from './common.js';

const PROVIDER = 'anthropic';

/** Message Batches limits: 100,000 requests or 256 MB per batch, whichever comes first. */
export const ANTHROPIC_BATCH_LIMITS = { maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 } as const;

/** The API's rule for `custom_id`. */
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;
/** Marks a custom id the adapter had to encode to fit that rule. */
const ENCODED = 'b64_';

/**
 * The `custom_id` sent for a Chimera custom id: as it is when the API accepts it, else its base64url form
 * behind a prefix (conversation ids hold `:` and `#`, which the API refuses). Reversed by
 * {@link decodeAnthropicCustomId}.
 * @throws {ProviderError} `invalid_request` when even the encoded form is longer than 64 characters.
 */
export function encodeAnthropicCustomId(customId: string): string {
  if (CUSTOM_ID.test(customId) && !customId.startsWith(ENCODED)) return customId;
  const encoded = `${ENCODED}${Buffer.from(customId, 'utf8').toString('base64url')}`;
  if (encoded.length > 64) {
    throw providerError(
      'invalid_request',
      `custom id ${customId} is too long for a Message Batch (at most 44 bytes once encoded)`,
      { provider: PROVIDER },
    );
  }
  return encoded;
}

export function decodeAnthropicCustomId(sent: string): string {
  return sent.startsWith(ENCODED)
    ? Buffer.from(sent.slice(ENCODED.length), 'base64url').toString('utf8')
    : sent;
}

/** The HTTP status each error type of the Messages API comes with, for the shared status-to-code table. */
const STATUS_OF_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Anthropic's batch states in Chimera's words. A batch always ends as `ended`; the counts tell the rest. */
export function anthropicBatchState(
  batch: Pick<MessageBatch, 'processing_status' | 'cancel_initiated_at' | 'request_counts'>,
): BatchState {
  if (batch.processing_status === 'in_progress') return 'in_progress';
  if (batch.processing_status === 'canceling') return 'cancelling';
  if (batch.cancel_initiated_at) return 'cancelled';
  const counts = batch.request_counts;
  if (counts.expired > 0 && counts.succeeded === 0 && counts.errored === 0) return 'expired';
  return 'ended';
}

function status(batch: MessageBatch): BatchStatus {
  const counts = batch.request_counts;
  return {
    id: batch.id,
    state: anthropicBatchState(batch),
    counts: {
      processing: counts.processing,
      succeeded: counts.succeeded,
      errored: counts.errored,
      expired: counts.expired,
      cancelled: counts.canceled,
    },
    createdAt: parseTime(batch.created_at),
  };
}

export interface AnthropicBatchApiOptions extends BatchAdapterOptions {
  /**
   * Send `temperature` (only older models accept it), as the online adapter's option of the same name.
   * @default false
   */
  sendTemperature?: boolean;
}

/**
 * `BatchApi` over Anthropic's Message Batches (`client.messages.batches`). Requests carry the same
 * prompt-cache breakpoints as online calls (system prompt and last message): batches honour
 * `cache_control` on a best-effort basis, and cache reads are billed at the batch discount too. SDK
 * retries are off: a retried create could submit a batch twice.
 */
export class AnthropicBatchApi implements BatchApi {
  readonly provider = PROVIDER;
  readonly model: string;
  readonly limits = ANTHROPIC_BATCH_LIMITS;
  private client?: Anthropic;
  private readonly clock: Clock;

  constructor(
    private readonly config: ProviderConfig,
    private readonly options: AnthropicBatchApiOptions = {},
  ) {
    if (!config.apiKey) throw new ConfigError('ANTHROPIC_API_KEY', 'required for the anthropic provider');
    this.model = config.model;
    this.clock = options.clock ?? systemClock;
  }

  private sdk(): Anthropic {
    this.client ??= new Anthropic({
      apiKey: this.config.apiKey,
      ...(this.config.baseUrl ? { baseURL: this.config.baseUrl } : {}),
      maxRetries: 0,
      timeout: this.config.timeoutMs,
    });
    return this.client;
  }

  private mapError(error: unknown): ProviderError {
    return mapAnthropicError(error, { apiKey: this.config.apiKey, clock: this.clock });
  }

  private async call<T>(run: (client: Anthropic) => Promise<T>): Promise<T> {
    try {
      return await run(this.sdk());
    } catch (error) {
      throw this.mapError(error);
    }
  }

  async submit(requests: readonly BatchRequest[]): Promise<BatchStatus> {
    checkBatch(PROVIDER, requests, this.limits);
    const body = {
      requests: requests.map(({ customId, request }) => {
        const { system, messages } = toAnthropicRequest(request);
        const params: MessageCreateParamsNonStreaming = {
          model: this.model,
          max_tokens: request.maxTokens,
          messages,
        };
        if (system) params.system = system;
        // Current Claude models refuse sampling parameters, so temperature is opt-in (as online).
        if (this.options.sendTemperature) Object.assign(params, { temperature: request.temperature });
        return { custom_id: encodeAnthropicCustomId(customId), params };
      }),
    };
    checkBytes(PROVIDER, Buffer.byteLength(JSON.stringify(body)), this.limits.maxBytes);
    return status(await this.call((client) => client.messages.batches.create(body)));
  }

  async retrieve(batchId: string): Promise<BatchStatus> {
    return status(await this.call((client) => client.messages.batches.retrieve(batchId)));
  }

  /**
   * `messages.batches.list`, newest first, until the batches are older than `since`. Message Batches keep
   * no metadata of the caller's, so a listed batch has no tag: it is known by its size and creation time.
   */
  async *list(since: number): AsyncIterable<ListedBatch> {
    const page = await this.call((client) => client.messages.batches.list({ limit: 100 }));
    const iterator = page[Symbol.asyncIterator]();
    while (true) {
      let next: IteratorResult<MessageBatch>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw this.mapError(error);
      }
      if (next.done) return;
      const listed = status(next.value);
      if (listed.createdAt !== undefined && listed.createdAt < since) return;
      const counts = next.value.request_counts;
      yield {
        ...listed,
        requests: counts.processing + counts.succeeded + counts.errored + counts.expired + counts.canceled,
      };
    }
  }

  async cancel(batchId: string): Promise<BatchStatus> {
    return status(await this.call((client) => client.messages.batches.cancel(batchId)));
  }

  async *results(batchId: string): AsyncIterable<BatchItemResult> {
    const batch = await this.call((client) => client.messages.batches.retrieve(batchId));
    requireFinished(PROVIDER, batchId, anthropicBatchState(batch));
    const latencyMs = elapsedMs(parseTime(batch.created_at), parseTime(batch.ended_at));
    const lines = await this.call((client) => client.messages.batches.results(batchId));
    const iterator = lines[Symbol.asyncIterator]();
    while (true) {
      let next: IteratorResult<MessageBatchIndividualResponse>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw this.mapError(error);
      }
      if (next.done) return;
      yield this.item(next.value, latencyMs);
    }
  }

  private item(line: MessageBatchIndividualResponse, latencyMs: number): BatchItemResult {
    const customId = decodeAnthropicCustomId(line.custom_id);
    const result = line.result;
    const fail = (error: ProviderError): BatchItemResult => ({ customId, ok: false, error });
    switch (result.type) {
      case 'succeeded': {
        const message = result.message;
        const details = { provider: PROVIDER, apiKey: this.config.apiKey, requestId: message?.id };
        if (!message || !Array.isArray(message.content) || !message.usage) {
          return fail(providerError('bad_response', 'the result is not a Messages API message', details));
        }
        const text = message.content
          .map((block) => (block.type === 'text' ? block.text : ''))
          .join('')
          .trim();
        if (text === '') {
          return fail(
            providerError('bad_response', `empty text (stop_reason ${message.stop_reason})`, details),
          );
        }
        const usage = message.usage;
        const value: GenerateResult = {
          text,
          model: message.model ?? this.model,
          stopReason: normalizeStopReason(message.stop_reason),
          usage: {
            inputTokens: usage.input_tokens ?? 0,
            outputTokens: usage.output_tokens ?? 0,
            ...(usage.cache_read_input_tokens != null
              ? { cacheReadTokens: usage.cache_read_input_tokens }
              : {}),
            ...(usage.cache_creation_input_tokens != null
              ? { cacheWriteTokens: usage.cache_creation_input_tokens }
              : {}),
          },
          latencyMs,
          requestId: message.id,
        };
        return { customId, ok: true, result: value };
      }
      case 'errored': {
        const error = result.error?.error as { type?: string; message?: string } | undefined;
        const type = error?.type ?? 'api_error';
        const status = STATUS_OF_TYPE[type] ?? 500;
        const code = codeForStatus(status, { overloaded: type === 'overloaded_error' });
        return fail(
          providerError(code, `${type}: ${error?.message ?? 'no message'}`, {
            provider: PROVIDER,
            apiKey: this.config.apiKey,
            status,
            requestId: (result.error as { request_id?: string } | undefined)?.request_id ?? undefined,
          }),
        );
      }
      case 'expired':
        return fail(expiredError(PROVIDER, customId));
      case 'canceled':
        return fail(cancelledError(PROVIDER, customId));
      default:
        return fail(
          providerError('bad_response', `unknown result type ${(result as { type?: string }).type}`, {
            provider: PROVIDER,
          }),
        );
    }
  }
}
