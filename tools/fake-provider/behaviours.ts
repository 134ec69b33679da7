/**
 * What the fake provider server can be told to do with a request, and what it records about each one.
 * Tests queue behaviours (`script`) or install a function (`respond`) to produce every failure a real
 * provider produces, in that provider's own wire format.
 */

export type Dialect = 'anthropic' | 'gemini' | 'openai';

/**
 * `generate`: a model call. `health`: a model lookup or listing, as health checks make. `batch`: a call of
 * a batch API (create, retrieve, list, cancel, results, and OpenAI's batch files).
 */
export type Operation = 'generate' | 'health' | 'batch';

interface Common {
  /** Delay before answering, in milliseconds (replaces the server's default latency). */
  latencyMs?: number;
}

export type FakeBehaviour = Common &
  (
    | {
        /** A normal answer from the text generator, or `text` when given ('' gives an empty answer). */
        type: 'reply';
        text?: string;
      }
    | {
        /** 429 with `retry-after` (seconds, or an HTTP date) and the provider's rate-limit headers. */
        type: 'rate_limited';
        /** @default 1 */
        retryAfterSeconds?: number;
        /** Also send `retry-after-ms` (Anthropic, OpenAI) with this value. */
        retryAfterMs?: number;
        /** Send `retry-after` as an HTTP date instead of seconds. */
        retryAfterAsDate?: boolean;
      }
    | {
        /** 429 for a spend, credit or daily quota limit, in the provider's shape: waiting will not help. */
        type: 'spend_limit';
      }
    | { /** 500 */ type: 'server_error' }
    | { /** 503 */ type: 'unavailable' }
    | {
        /** 529 `overloaded_error` (Anthropic's own status; others get it with their overload wording). */ type: 'overloaded';
      }
    | { /** 400 */ type: 'bad_request'; message?: string }
    | { /** 401, echoing the key it was sent (so tests prove clients scrub it). */ type: 'unauthorized' }
    | {
        /** Any other status with the provider's error shape. */ type: 'status';
        status: number;
        message?: string;
      }
    | {
        /** Never answer: the connection stays open until the client gives up or the server closes. */
        type: 'hang';
      }
    | { /** 200 with a JSON content type and a truncated body. */ type: 'malformed' }
    | {
        /**
         * A well-formed answer whose structured output is not valid: truncated JSON text (OpenAI, Gemini), a
         * tool call whose input misses the schema's fields (Anthropic). A free-text request gets a normal reply.
         */
        type: 'malformed_json';
      }
  );

export type BehaviourType = FakeBehaviour['type'];

/** One request as the server received it. Headers are kept as sent, API keys included: this is a test double. */
export interface ReceivedRequest {
  /** Arrival order, from 1. */
  seq: number;
  /** Arrival time from the server's clock (epoch milliseconds). */
  at: number;
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  dialect: Dialect;
  operation: Operation;
  model?: string;
  headers: Record<string, string>;
  /** The key as this dialect carries it: `x-api-key` or bearer, `x-goog-api-key` or `?key=`, bearer. */
  apiKey?: string;
  /** The parsed JSON body, or the raw text when it did not parse. */
  body: unknown;
  /** What the server did with it. */
  behaviour?: BehaviourType | 'quota_exceeded' | 'auth_rejected';
  /** HTTP status sent; undefined while pending or when the client went away first. */
  status?: number;
  respondedAt?: number;
  /** The client closed the connection before an answer. */
  clientClosed?: boolean;
  /** The model and usage of the reply generated for it (billed once the reply is written). */
  served?: {
    model: string;
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
  };
}

/** Decides a behaviour per request; undefined falls through to quota enforcement and a normal reply. */
export type Responder = (request: ReceivedRequest) => FakeBehaviour | undefined;
