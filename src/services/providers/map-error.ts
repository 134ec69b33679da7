import { ProviderError, type ProviderErrorCode } from '../../errors.js';
import { REDACTED, scrubString } from '../../redact.js';

/**
 * What the three SDK error mappers share: HTTP status to error code, retry-after parsing, and messages
 * that never carry the API key. Each SDK's own mapper (in its adapter file) extracts status, headers and
 * body details, decides whether a 429 is a spend limit, and hands the rest to these functions.
 */

/** Anything with a case-insensitive `get`, like `Headers`, or a plain record of header values. */
export type HeaderSource =
  | { get(name: string): string | null | undefined }
  | Record<string, string | string[] | undefined>;

export function header(headers: HeaderSource | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null | undefined }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record[name] ?? record[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Longest wait we believe; a larger value is a misconfigured proxy, not advice. */
const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * The wait a provider asked for: `retry-after-ms` (milliseconds), else `retry-after` in seconds or as an
 * HTTP date (relative to `now`). Undefined when neither header is there or parses.
 */
export function parseRetryAfter(headers: HeaderSource | undefined, now: number): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return clampWait(Number(ms));
  const value = header(headers, 'retry-after');
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return clampWait(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return clampWait(date - now);
}

/** Parses a protobuf duration such as Gemini's RetryInfo `retryDelay` ("37s", "0.5s") into milliseconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)s\s*$/.exec(value);
  return match ? clampWait(Number(match[1]) * 1000) : undefined;
}

function clampWait(ms: number): number | undefined {
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_RETRY_AFTER_MS);
}

/**
 * The error code for an HTTP failure. `spendLimit` wins over everything (a billing limit is not fixed by
 * waiting); `overloaded` marks provider-specific overload signals that arrive with other statuses.
 */
export function codeForStatus(
  status: number,
  flags: { spendLimit?: boolean; overloaded?: boolean } = {},
): ProviderErrorCode {
  if (flags.spendLimit || status === 402) return 'quota_exhausted';
  if (flags.overloaded || status === 503 || status === 529) return 'overloaded';
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if (status === 401 || status === 403) return 'auth';
  if (status >= 500) return 'server_error';
  return 'invalid_request';
}

/** Longest provider message kept in an error; bodies can be pages of HTML from a proxy. */
const MAX_MESSAGE_LENGTH = 300;

/** A message safe to log: the configured key removed wherever it appears, other secret shapes scrubbed, cut short. */
export function safeMessage(message: string, apiKey?: string): string {
  let out = apiKey && apiKey.length >= 4 ? message.split(apiKey).join(REDACTED) : message;
  out = scrubString(out).replace(/\s+/g, ' ').trim();
  return out.length > MAX_MESSAGE_LENGTH ? `${out.slice(0, MAX_MESSAGE_LENGTH)}...` : out;
}

export interface FailureDetails {
  provider: string;
  apiKey?: string;
  status?: number;
  retryAfterMs?: number;
  requestId?: string;
  cause?: unknown;
}

/**
 * A copy of an SDK error that is safe to keep as `cause`: SDK errors carry the response body (which some
 * gateways fill with the key they were sent), so only scrubbed name and message survive, one level deep.
 */
export function safeCause(error: unknown, apiKey?: string, depth = 0): Error | undefined {
  if (error === undefined || error === null) return undefined;
  const source = error instanceof Error ? error : new Error(String(error));
  const inner =
    depth < 2 && source.cause !== undefined ? safeCause(source.cause, apiKey, depth + 1) : undefined;
  const copy = new Error(safeMessage(source.message, apiKey), inner ? { cause: inner } : undefined);
  copy.name = source.name;
  return copy;
}

/** Builds the `ProviderError` every adapter throws: `<provider> <code> (<status>): <scrubbed message>`. */
export function providerError(
  code: ProviderErrorCode,
  message: string,
  details: FailureDetails,
): ProviderError {
  const status = details.status === undefined ? '' : ` (${details.status})`;
  return new ProviderError(
    code,
    `${details.provider} ${code}${status}: ${safeMessage(message, details.apiKey)}`,
    {
      provider: details.provider,
      status: details.status,
      retryAfterMs: details.retryAfterMs,
      requestId: details.requestId ?? undefined,
      cause: safeCause(details.cause, details.apiKey),
    },
  );
}

/** Errors from `JSON.parse` / `response.json()` on a body that is not JSON. */
export function isParseError(error: unknown): boolean {
  return error instanceof SyntaxError;
}

/** Connection-level timeouts as undici and the SDKs report them. */
export function looksLikeTimeout(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'TimeoutError') return true;
  const cause = error.cause instanceof Error ? `${error.cause.name} ${error.cause.message}` : '';
  return /timed? ?out|ETIMEDOUT|UND_ERR_(CONNECT|HEADERS|BODY)_TIMEOUT/i.test(`${error.message} ${cause}`);
}

/** What a cancelled call rejects with: the signal's reason, as `fetch` does, or a standard AbortError. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** True for the rejection of a call cancelled through its `AbortSignal`. */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
