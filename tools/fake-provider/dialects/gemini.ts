import type { ChatMessage } from '../../../src/services/ports.js';
import {
  type DialectWire,
  type FailureInput,
  json,
  type ParsedCall,
  positiveInt,
  type ReplyInput,
  WireBadRequest,
} from '../wire.js';

/**
 * Gemini API: `POST /v1beta/models/{model}:generateContent`, errors as Google RPC status
 * `{ error: { code, message, status, details } }`. Rate limits carry a QuotaFailure naming the quota and a
 * RetryInfo with the delay; Google sends no rate-limit headers.
 */

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
  529: 'UNAVAILABLE',
};

const QUOTA_FAILURE = 'type.googleapis.com/google.rpc.QuotaFailure';
const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';

function partsText(content: unknown): string {
  if (typeof content === 'string') return content;
  const parts = (content as { parts?: unknown } | null)?.parts;
  if (!Array.isArray(parts)) throw new WireBadRequest('contents[].parts must be a list');
  return parts.map((part: { text?: unknown }) => (typeof part?.text === 'string' ? part.text : '')).join('');
}

/** `responseSchema` with `responseMimeType: application/json`: Chimera's structured output. */
function responseSchema(
  config: { responseMimeType?: unknown; responseSchema?: unknown } | undefined,
): ParsedCall['structured'] {
  if (config?.responseSchema === undefined) return undefined;
  if (config.responseMimeType !== 'application/json') {
    throw new WireBadRequest(
      '* GenerationConfig.response_mime_type: response_schema requires response_mime_type application/json',
    );
  }
  return { name: 'response', schema: config.responseSchema as Record<string, unknown> };
}

function parse(body: unknown, pathModel: string | undefined): ParsedCall {
  const request = body as {
    contents?: unknown;
    systemInstruction?: unknown;
    generationConfig?: { maxOutputTokens?: unknown; responseMimeType?: unknown; responseSchema?: unknown };
  };
  if (!request || !Array.isArray(request.contents) || request.contents.length === 0) {
    throw new WireBadRequest('* GenerateContentRequest.contents: contents is not specified');
  }
  const messages: ChatMessage[] = request.contents.map((content: { role?: unknown }) => {
    if (content?.role !== undefined && content.role !== 'user' && content.role !== 'model') {
      throw new WireBadRequest(`Please use a valid role: user, model. Got: ${String(content.role)}`);
    }
    return { role: content.role === 'model' ? 'assistant' : 'user', content: partsText(content) };
  });
  return {
    model: pathModel ?? 'gemini',
    system: request.systemInstruction === undefined ? '' : partsText(request.systemInstruction),
    messages,
    maxTokens: positiveInt(request.generationConfig?.maxOutputTokens, 8192),
    structured: responseSchema(request.generationConfig),
  };
}

function failureBody(input: FailureInput): Record<string, unknown> {
  const status = STATUS_NAMES[input.status] ?? (input.status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
  const error: Record<string, unknown> = { code: input.status, message: input.message ?? '', status };
  switch (input.kind) {
    case 'rate_limited':
      error.message ||=
        'You exceeded your current quota, please check your plan and billing details. Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_requests, limit: 15.';
      error.details = [
        {
          '@type': QUOTA_FAILURE,
          violations: [
            {
              quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests',
              quotaId: 'GenerateRequestsPerMinutePerProjectPerModel',
            },
          ],
        },
        { '@type': RETRY_INFO, retryDelay: `${input.retryAfterSeconds ?? 1}s` },
      ];
      break;
    case 'spend_limit':
      error.message ||=
        'You exceeded your current quota, please check your plan and billing details. Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_requests_per_day, limit: 1500.';
      error.details = [
        {
          '@type': QUOTA_FAILURE,
          violations: [
            {
              quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests_per_day',
              quotaId: 'GenerateRequestsPerDayPerProjectPerModel',
            },
          ],
        },
      ];
      break;
    case 'unavailable':
    case 'overloaded':
      error.message ||= 'The model is overloaded. Please try again later.';
      break;
    case 'unauthorized':
      error.message ||= `API key not valid: ${input.apiKey ?? '(none)'}. Please pass a valid API key.`;
      break;
    case 'bad_request':
      error.message ||= '* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.';
      break;
    default:
      error.message ||=
        'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting';
  }
  return { error };
}

export const geminiWire: DialectWire = {
  dialect: 'gemini',
  parse,
  reply(input: ReplyInput) {
    return json(200, {
      candidates: [
        {
          content: { parts: input.text === '' ? [] : [{ text: input.text }], role: 'model' },
          finishReason: input.stopReason === 'max_tokens' ? 'MAX_TOKENS' : 'STOP',
          index: 0,
        },
      ],
      usageMetadata: {
        promptTokenCount: input.inputTokens,
        candidatesTokenCount: input.outputTokens,
        totalTokenCount: input.inputTokens + input.outputTokens,
      },
      modelVersion: input.model,
      responseId: input.requestId,
    });
  },
  failure(input: FailureInput) {
    return json(input.status, failureBody(input));
  },
  model(model: string) {
    const name = model.startsWith('models/') ? model : `models/${model}`;
    return {
      name,
      displayName: model,
      inputTokenLimit: 1_048_576,
      outputTokenLimit: 65_536,
      supportedGenerationMethods: ['generateContent', 'countTokens'],
    };
  },
  models(models: string[], now: number) {
    return { models: models.map((model) => geminiWire.model(model, now)) };
  },
  quotaHeaders() {
    return {};
  },
  apiKeyOf(headers, query) {
    return headers['x-goog-api-key'] ?? query.key;
  },
};
