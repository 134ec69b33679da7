import type { ChatMessage } from '../../../src/services/ports.js';
import {
  bearer,
  contentText,
  type DialectWire,
  type FailureInput,
  json,
  type ParsedCall,
  positiveInt,
  type QuotaHeadersInput,
  type ReplyInput,
  WireBadRequest,
} from '../wire.js';

/** Anthropic Messages API: `POST /v1/messages`, errors as `{ type: 'error', error: { type, message } }`. */

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

interface Block {
  type?: unknown;
  text?: unknown;
  cache_control?: unknown;
}

function blocks(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content))
    throw new WireBadRequest('content must be a string or a list of content blocks');
  return content as Block[];
}

/** A forced tool call (`tool_choice: { type: 'tool', name }` naming one of `tools`): Chimera's structured output. */
function forcedTool(request: { tools?: unknown; tool_choice?: unknown }): ParsedCall['structured'] {
  const choice = request.tool_choice as { type?: unknown; name?: unknown } | undefined;
  if (choice === undefined) return undefined;
  if (choice?.type !== 'tool') return undefined;
  const tools = Array.isArray(request.tools) ? (request.tools as Array<Record<string, unknown>>) : [];
  const tool = tools.find((t) => t?.name === choice.name);
  if (!tool) throw new WireBadRequest(`tool_choice: tool ${String(choice.name)} is not in tools`);
  const schema = tool.input_schema as Record<string, unknown> | undefined;
  if (schema?.type !== 'object') {
    throw new WireBadRequest("tools.0.custom.input_schema.type: Input should be 'object'");
  }
  return { name: String(choice.name), schema };
}

function parse(body: unknown): ParsedCall {
  const request = body as {
    model?: unknown;
    system?: unknown;
    messages?: unknown;
    max_tokens?: unknown;
    tools?: unknown;
    tool_choice?: unknown;
  };
  if (!request || typeof request.model !== 'string') throw new WireBadRequest('model: Field required');
  if (typeof request.max_tokens !== 'number') throw new WireBadRequest('max_tokens: Field required');
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    throw new WireBadRequest('messages: at least one message is required');
  }
  const segments: Array<{ text: string; breakpoint: boolean }> = [];
  const system = request.system === undefined ? [] : blocks(request.system);
  for (const block of system)
    segments.push({ text: `system:${block.text ?? ''}`, breakpoint: !!block.cache_control });
  const messages: ChatMessage[] = request.messages.map((raw: { role?: unknown; content?: unknown }) => {
    if (raw?.role !== 'user' && raw?.role !== 'assistant') {
      throw new WireBadRequest('messages: role must be "user" or "assistant"');
    }
    for (const block of blocks(raw.content)) {
      segments.push({ text: `${raw.role}:${block.text ?? ''}`, breakpoint: !!block.cache_control });
    }
    return { role: raw.role, content: contentText(raw.content) };
  });
  return {
    model: request.model,
    system: contentText(request.system ?? ''),
    messages,
    maxTokens: positiveInt(request.max_tokens, 1024),
    cacheSegments: segments,
    structured: forcedTool(request),
  };
}

function failureMessage(input: FailureInput): string {
  if (input.message) return input.message;
  switch (input.kind) {
    case 'rate_limited':
      return 'This request would exceed the rate limit for your organization of 50 requests per minute. Please wait and try again.';
    case 'spend_limit':
      return 'You have reached your specified API usage limits. You will regain access on the first day of next month.';
    case 'overloaded':
      return 'Overloaded';
    case 'unauthorized':
      return `invalid x-api-key: ${input.apiKey ?? '(none)'}`;
    case 'bad_request':
      return 'messages: text content blocks must be non-empty';
    default:
      return 'Internal server error';
  }
}

export const anthropicWire: DialectWire = {
  dialect: 'anthropic',
  parse,
  reply(input: ReplyInput) {
    return json(
      200,
      {
        id: `msg_${input.requestId}`,
        type: 'message',
        role: 'assistant',
        model: input.model,
        content: input.toolCall
          ? [{ type: 'tool_use', id: `toolu_${input.requestId}`, ...input.toolCall }]
          : input.text === ''
            ? []
            : [{ type: 'text', text: input.text }],
        stop_reason: input.toolCall ? 'tool_use' : input.stopReason,
        stop_sequence: null,
        usage: {
          input_tokens: input.inputTokens,
          output_tokens: input.outputTokens,
          cache_creation_input_tokens: input.cacheWriteTokens ?? 0,
          cache_read_input_tokens: input.cacheReadTokens ?? 0,
        },
      },
      { 'request-id': `req_${input.requestId}` },
    );
  },
  failure(input: FailureInput) {
    const type = ERROR_TYPES[input.status] ?? (input.status >= 500 ? 'api_error' : 'invalid_request_error');
    const error: Record<string, unknown> = { type, message: failureMessage(input) };
    if (input.kind === 'spend_limit') error.details = { error_code: 'enforced_spend_limit_reached' };
    return json(
      input.status,
      { type: 'error', error, request_id: `req_${input.requestId}` },
      { 'request-id': `req_${input.requestId}` },
    );
  },
  model(model: string, now: number) {
    return { type: 'model', id: model, display_name: model, created_at: new Date(now).toISOString() };
  },
  models(models: string[], now: number) {
    const data = models.map((id) => anthropicWire.model(id, now));
    return { data, has_more: false, first_id: models[0] ?? null, last_id: models.at(-1) ?? null };
  },
  quotaHeaders(input: QuotaHeadersInput) {
    const reset = new Date(input.resetAt).toISOString();
    const headers: Record<string, string> = {};
    if (input.requestsLimit !== undefined) {
      headers['anthropic-ratelimit-requests-limit'] = String(input.requestsLimit);
      headers['anthropic-ratelimit-requests-remaining'] = String(input.requestsRemaining ?? 0);
      headers['anthropic-ratelimit-requests-reset'] = reset;
    }
    if (input.tokensLimit !== undefined) {
      headers['anthropic-ratelimit-tokens-limit'] = String(input.tokensLimit);
      headers['anthropic-ratelimit-tokens-remaining'] = String(input.tokensRemaining ?? 0);
      headers['anthropic-ratelimit-tokens-reset'] = reset;
    }
    return headers;
  },
  apiKeyOf(headers) {
    return headers['x-api-key'] ?? bearer(headers);
  },
};
