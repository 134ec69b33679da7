import { APIError as AnthropicApiError } from '@anthropic-ai/sdk';
import { ApiError as GeminiApiError } from '@google/genai';
import { APIError as OpenAiApiError } from 'openai';
import { describe, expect, it } from 'vitest';
import { mapAnthropicError } from '../../src/services/providers/anthropic.js';
import { isGeminiSpendLimit, mapGeminiError } from '../../src/services/providers/gemini.js';
import {
  codeForStatus,
  parseDuration,
  parseRetryAfter,
  safeCause,
  safeMessage,
} from '../../src/services/providers/map-error.js';
import { mapOpenAiError } from '../../src/services/providers/openai.js';
import { normalizeStopReason } from '../../src/services/providers/options.js';

const NOW = Date.UTC(2030, 5, 1, 12, 0, 0);

describe('retry-after parsing', () => {
  it('reads seconds', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': '12' }), NOW)).toBe(12_000);
    expect(parseRetryAfter({ 'retry-after': '0.5' }, NOW)).toBe(500);
  });

  it('reads an HTTP date relative to now', () => {
    const date = new Date(NOW + 45_000).toUTCString();
    expect(parseRetryAfter(new Headers({ 'retry-after': date }), NOW)).toBe(45_000);
  });

  it('a date in the past means no wait', () => {
    expect(parseRetryAfter({ 'retry-after': new Date(NOW - 5000).toUTCString() }, NOW)).toBe(0);
  });

  it('prefers retry-after-ms', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': '10', 'retry-after-ms': '1500' }), NOW)).toBe(1500);
  });

  it('ignores absent or unparsable values', () => {
    expect(parseRetryAfter(new Headers(), NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': 'soon' }, NOW)).toBeUndefined();
  });

  it('reads protobuf durations such as Gemini retry delays', () => {
    expect(parseDuration('37s')).toBe(37_000);
    expect(parseDuration('0.25s')).toBe(250);
    expect(parseDuration('37')).toBeUndefined();
  });
});

describe('status to error code', () => {
  it.each([
    [429, 'rate_limited'],
    [529, 'overloaded'],
    [503, 'overloaded'],
    [500, 'server_error'],
    [502, 'server_error'],
    [504, 'server_error'],
    [408, 'timeout'],
    [400, 'invalid_request'],
    [404, 'invalid_request'],
    [422, 'invalid_request'],
    [401, 'auth'],
    [403, 'auth'],
    [402, 'quota_exhausted'],
  ])('%i is %s', (status, code) => {
    expect(codeForStatus(status)).toBe(code);
  });

  it('a spend limit wins over the status', () => {
    expect(codeForStatus(429, { spendLimit: true })).toBe('quota_exhausted');
  });
});

describe('anthropic error mapping', () => {
  const error = (status: number, body: object, headers: Record<string, string> = {}) =>
    AnthropicApiError.generate(status, body, undefined, new Headers(headers));

  it('a credit-balance 400 is quota_exhausted, not a bad request', () => {
    const mapped = mapAnthropicError(
      error(400, {
        type: 'error',
        error: {
          type: 'invalid_request_error',
          message: 'Your credit balance is too low to access the Anthropic API.',
        },
      }),
    );
    expect(mapped.code).toBe('quota_exhausted');
    expect(mapped.retryable).toBe(false);
  });

  it('a 429 with a spend-limit error code is quota_exhausted', () => {
    const mapped = mapAnthropicError(
      error(429, {
        type: 'error',
        error: {
          type: 'rate_limit_error',
          message: 'limit',
          details: { error_code: 'contract_spend_limit_reached' },
        },
      }),
    );
    expect(mapped.code).toBe('quota_exhausted');
  });

  it('an ordinary 429 stays rate_limited with its wait and request id', () => {
    const mapped = mapAnthropicError(
      error(
        429,
        {
          type: 'error',
          error: {
            type: 'rate_limit_error',
            message: 'Number of request tokens has exceeded your per-minute rate limit',
          },
        },
        { 'retry-after': '3', 'request-id': 'req_abc' },
      ),
      { clock: { now: () => NOW } },
    );
    expect(mapped).toMatchObject({
      code: 'rate_limited',
      retryable: true,
      retryAfterMs: 3000,
      requestId: 'req_abc',
    });
  });

  it('overloaded_error is overloaded whatever the status', () => {
    const mapped = mapAnthropicError(
      error(500, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
    );
    expect(mapped.code).toBe('overloaded');
  });
});

describe('openai error mapping', () => {
  it('insufficient_quota is quota_exhausted even though it is a 429', () => {
    const mapped = mapOpenAiError(
      OpenAiApiError.generate(
        429,
        {
          error: {
            message: 'You exceeded your current quota',
            type: 'insufficient_quota',
            code: 'insufficient_quota',
          },
        },
        undefined,
        new Headers(),
      ),
    );
    expect(mapped).toMatchObject({ code: 'quota_exhausted', retryable: false, status: 429 });
  });

  it('a per-minute 429 is rate_limited', () => {
    const mapped = mapOpenAiError(
      OpenAiApiError.generate(
        429,
        {
          error: {
            message: 'Rate limit reached for requests',
            type: 'requests',
            code: 'rate_limit_exceeded',
          },
        },
        undefined,
        new Headers({ 'retry-after-ms': '800' }),
      ),
    );
    expect(mapped).toMatchObject({ code: 'rate_limited', retryAfterMs: 800 });
  });
});

describe('gemini error mapping', () => {
  const body = (message: string, details: Array<Record<string, unknown>> = []) => ({
    code: 429,
    message,
    status: 'RESOURCE_EXHAUSTED',
    details,
  });
  const perMinute = {
    '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
    violations: [{ quotaId: 'GenerateRequestsPerMinutePerProjectPerModel' }],
  };
  const perDay = {
    '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
    violations: [{ quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier' }],
  };

  it('a per-minute quota is a rate limit even though the message mentions billing', () => {
    expect(
      isGeminiSpendLimit(
        body('You exceeded your current quota, please check your plan and billing details.', [perMinute]),
      ),
    ).toBe(false);
  });

  it('a per-day quota is exhausted for the day', () => {
    expect(isGeminiSpendLimit(body('You exceeded your current quota.', [perDay]))).toBe(true);
  });

  it('depleted prepaid credits are a spend limit', () => {
    expect(
      isGeminiSpendLimit(
        body('Your prepayment credits are depleted. Please go to AI Studio to manage your billing.'),
      ),
    ).toBe(true);
  });

  it('maps the body inside ApiError and the retry delay inside it', () => {
    const error = new GeminiApiError({
      status: 429,
      message: JSON.stringify({
        error: body('slow down', [
          perMinute,
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12s' },
        ]),
      }),
    });
    expect(mapGeminiError(error)).toMatchObject({ code: 'rate_limited', retryAfterMs: 12_000, status: 429 });
  });

  it('a proxy page that is not JSON still maps by status', () => {
    const error = new GeminiApiError({ status: 502, message: '<html>Bad Gateway</html>' });
    expect(mapGeminiError(error).code).toBe('server_error');
  });
});

describe('messages without secrets', () => {
  it('removes the configured key wherever it appears and other secret shapes too', () => {
    const message = safeMessage(
      'key my-own-key-format-123 and Bearer abcdefghijkl leaked',
      'my-own-key-format-123',
    );
    expect(message).toBe('key [REDACTED] and Bearer [REDACTED] leaked');
  });

  it('keeps a scrubbed copy of the cause chain only', () => {
    const cause = safeCause(
      new Error('outer my-key-123456', { cause: new TypeError('inner my-key-123456') }),
      'my-key-123456',
    );
    expect(cause).toBeInstanceOf(Error);
    const inner = cause!.cause as Error;
    expect(cause!.message).toBe('outer [REDACTED]');
    expect(inner.name).toBe('TypeError');
    expect(inner.message).toBe('inner [REDACTED]');
  });

  it('stop reasons share one vocabulary', () => {
    expect(['STOP', 'stop', 'end_turn'].map(normalizeStopReason)).toEqual([
      'end_turn',
      'end_turn',
      'end_turn',
    ]);
    expect(['MAX_TOKENS', 'length'].map(normalizeStopReason)).toEqual(['max_tokens', 'max_tokens']);
    expect(['SAFETY', 'content_filter', 'refusal'].map(normalizeStopReason)).toEqual([
      'refusal',
      'refusal',
      'refusal',
    ]);
  });
});
