import type { ChatMessage, JsonSchema } from '../../src/services/ports.js';
import type { Dialect } from './behaviours.js';

/** A generation request reduced to what the text generator needs, whatever dialect it came in. */
export interface ParsedCall {
  model: string;
  system: string;
  messages: ChatMessage[];
  maxTokens: number;
  /** Prompt-cache segments (Anthropic only): each text block in order, and whether it carries a breakpoint. */
  cacheSegments?: Array<{ text: string; breakpoint: boolean }>;
  /**
   * A structured-output request: Anthropic's forced tool (`tool_choice: { type: 'tool' }`), OpenAI's
   * `response_format: json_schema`, Gemini's `responseSchema` with `responseMimeType: application/json`.
   */
  structured?: { name: string; schema: JsonSchema };
}

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ReplyInput {
  requestId: string;
  model: string;
  text: string;
  stopReason: 'end_turn' | 'max_tokens';
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  now: number;
  /**
   * The answer to a structured-output request: `text` is then its JSON, and Anthropic sends `input` as the
   * forced tool call instead of a text block.
   */
  toolCall?: { name: string; input: unknown };
}

/** Failures the dialects know how to word. `status` carries any other HTTP status. */
export type FailureKind =
  | 'rate_limited'
  | 'spend_limit'
  | 'server_error'
  | 'unavailable'
  | 'overloaded'
  | 'bad_request'
  | 'unauthorized'
  | 'status';

export interface FailureInput {
  kind: FailureKind;
  status: number;
  requestId: string;
  message?: string;
  /** The key the request carried, echoed by 401 bodies the way careless gateways do. */
  apiKey?: string;
  retryAfterSeconds?: number;
  now: number;
}

/** Rate-limit state for the headers real providers send with every answer. */
export interface QuotaHeadersInput {
  requestsLimit?: number;
  requestsRemaining?: number;
  tokensLimit?: number;
  tokensRemaining?: number;
  /** Epoch milliseconds at which the budget is whole again. */
  resetAt: number;
  now: number;
}

export class WireBadRequest extends Error {}

export interface DialectWire {
  readonly dialect: Dialect;
  /** @throws {WireBadRequest} when the body is not a valid request of this dialect. */
  parse(body: unknown, pathModel: string | undefined): ParsedCall;
  reply(input: ReplyInput): WireResponse;
  failure(input: FailureInput): WireResponse;
  /** Body of a model lookup (`GET .../models/{id}`) or listing. */
  model(model: string, now: number): unknown;
  models(models: string[], now: number): unknown;
  quotaHeaders(input: QuotaHeadersInput): Record<string, string>;
  /** The key as this dialect sends it. */
  apiKeyOf(headers: Record<string, string>, query: Record<string, string>): string | undefined;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): WireResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export function bearer(headers: Record<string, string>): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/** Text of a message content that is a string or a list of `{ type: 'text', text }` blocks. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw new WireBadRequest('content must be a string or a list of blocks');
  return content
    .map((block: { type?: unknown; text?: unknown }) => (typeof block?.text === 'string' ? block.text : ''))
    .join('');
}

export function positiveInt(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}
