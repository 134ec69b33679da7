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

/** OpenAI Chat Completions: `POST /v1/chat/completions`, errors as `{ error: { message, type, param, code } }`. */

/** `response_format: { type: 'json_schema', json_schema: { name, schema } }`: Chimera's structured output. */
function jsonSchemaFormat(
  format: { type?: unknown; json_schema?: { name?: unknown; schema?: unknown } } | undefined,
): ParsedCall['structured'] {
  if (format?.type !== 'json_schema') return undefined;
  const { name, schema } = format.json_schema ?? {};
  if (typeof name !== 'string' || !schema || typeof schema !== 'object') {
    throw new WireBadRequest("Missing required parameter: 'response_format.json_schema.name' or 'schema'.");
  }
  return { name, schema: schema as Record<string, unknown> };
}

function parse(body: unknown): ParsedCall {
  const request = body as {
    model?: unknown;
    messages?: unknown;
    max_tokens?: unknown;
    max_completion_tokens?: unknown;
    response_format?: { type?: unknown; json_schema?: { name?: unknown; schema?: unknown } };
  };
  if (!request || typeof request.model !== 'string')
    throw new WireBadRequest('you must provide a model parameter');
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    throw new WireBadRequest("'messages' must contain at least one message");
  }
  const system: string[] = [];
  const messages: ChatMessage[] = [];
  for (const raw of request.messages as Array<{ role?: unknown; content?: unknown }>) {
    const text = contentText(raw?.content ?? '');
    if (raw?.role === 'system' || raw?.role === 'developer') system.push(text);
    else if (raw?.role === 'user' || raw?.role === 'assistant')
      messages.push({ role: raw.role, content: text });
    else throw new WireBadRequest(`Invalid value for 'messages[].role': ${String(raw?.role)}`);
  }
  return {
    model: request.model,
    system: system.join('\n'),
    messages,
    maxTokens: positiveInt(request.max_completion_tokens ?? request.max_tokens, 4096),
    structured: jsonSchemaFormat(request.response_format),
  };
}

function failureBody(input: FailureInput): Record<string, unknown> {
  const error = {
    message: input.message ?? '',
    type: 'server_error',
    param: null,
    code: null as string | null,
  };
  switch (input.kind) {
    case 'rate_limited':
      error.message ||= `Rate limit reached for requests. Please try again in ${input.retryAfterSeconds ?? 1}s.`;
      error.type = 'requests';
      error.code = 'rate_limit_exceeded';
      break;
    case 'spend_limit':
      error.message ||=
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.';
      error.type = 'insufficient_quota';
      error.code = 'insufficient_quota';
      break;
    case 'unauthorized':
      error.message ||= `Incorrect API key provided: ${input.apiKey ?? '(none)'}.`;
      error.type = 'invalid_request_error';
      error.code = 'invalid_api_key';
      break;
    case 'bad_request':
      error.message ||= "Invalid 'messages[0].content': string too short.";
      error.type = 'invalid_request_error';
      break;
    case 'unavailable':
    case 'overloaded':
      error.message ||= 'The server is overloaded or not ready yet.';
      break;
    default:
      error.message ||= 'The server had an error while processing your request. Sorry about that!';
      if (input.status < 500) error.type = 'invalid_request_error';
  }
  return { error };
}

/** OpenAI's reset format: "1s", "6m0s", "250ms". */
function resetIn(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const seconds = Math.ceil(ms / 1000);
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${seconds % 60}s` : `${seconds}s`;
}

export const openaiWire: DialectWire = {
  dialect: 'openai',
  parse,
  reply(input: ReplyInput) {
    return json(
      200,
      {
        id: `chatcmpl-${input.requestId}`,
        object: 'chat.completion',
        created: Math.floor(input.now / 1000),
        model: input.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: input.text, refusal: null },
            logprobs: null,
            finish_reason: input.stopReason === 'max_tokens' ? 'length' : 'stop',
          },
        ],
        usage: {
          prompt_tokens: input.inputTokens,
          completion_tokens: input.outputTokens,
          total_tokens: input.inputTokens + input.outputTokens,
          prompt_tokens_details: { cached_tokens: 0 },
        },
      },
      { 'x-request-id': `req_${input.requestId}` },
    );
  },
  failure(input: FailureInput) {
    return json(input.status, failureBody(input), { 'x-request-id': `req_${input.requestId}` });
  },
  model(model: string, now: number) {
    return { id: model, object: 'model', created: Math.floor(now / 1000), owned_by: 'chimera-fake' };
  },
  models(models: string[], now: number) {
    return { object: 'list', data: models.map((model) => openaiWire.model(model, now)) };
  },
  quotaHeaders(input: QuotaHeadersInput) {
    const headers: Record<string, string> = {};
    const reset = resetIn(input.resetAt - input.now);
    if (input.requestsLimit !== undefined) {
      headers['x-ratelimit-limit-requests'] = String(input.requestsLimit);
      headers['x-ratelimit-remaining-requests'] = String(input.requestsRemaining ?? 0);
      headers['x-ratelimit-reset-requests'] = reset;
    }
    if (input.tokensLimit !== undefined) {
      headers['x-ratelimit-limit-tokens'] = String(input.tokensLimit);
      headers['x-ratelimit-remaining-tokens'] = String(input.tokensRemaining ?? 0);
      headers['x-ratelimit-reset-tokens'] = reset;
    }
    return headers;
  },
  apiKeyOf(headers) {
    return bearer(headers);
  },
};
