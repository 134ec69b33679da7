/**
 * Every error Chimera raises on purpose carries a `code` from one union and a `retryable` decision,
 * so callers branch on data rather than on message text or class identity across module copies.
 */
export type ErrorCode =
  | 'config_invalid'
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'timeout'
  | 'bad_response'
  | 'auth'
  | 'invalid_request'
  | 'quota_exhausted'
  | 'expired'
  | 'cancelled'
  | 'circuit_open'
  | 'rate_limit_wait_exceeded'
  | 'stale_lease'
  | 'invalid_topic'
  | 'invalid_snapshot'
  | 'closed'
  | 'invalid_event'
  // The bus refused a message as larger than it accepts (Kafka: MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE).
  | 'event_too_large'
  // Cost (src/cost): the spending cap refuses a call's reservation; the journal cannot be read.
  | 'budget_exhausted'
  | 'journal_corrupt'
  // A model call in flight when its process died, with no answer recorded: asked for again, never re-sent.
  | 'call_lost'
  // The judge (src/judge): an answer that is not the rubric's JSON; a conversation left unjudged.
  | 'judge_invalid'
  | 'judge_failed';

export class ChimeraError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    // Keep `instanceof` working when compiled to targets that break the prototype chain of Error.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** One bad environment variable (or flag); the message is the single line shown to the user. */
export class ConfigError extends ChimeraError {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super('config_invalid', `${variable}: ${message}`);
    this.variable = variable;
  }
}

/** A snapshot write carried a fencing token older than the current owner's: this actor no longer owns the conversation. */
export class StaleLeaseError extends ChimeraError {
  constructor(conversationId: string, token: number) {
    super(
      'stale_lease',
      `lease for conversation ${conversationId} with fencing token ${token} is no longer current`,
    );
  }
}

/** A stored snapshot failed validation on read (unknown schema version, corrupt JSON). */
export class InvalidSnapshotError extends ChimeraError {
  constructor(conversationId: string, reason: string) {
    super('invalid_snapshot', `snapshot of conversation ${conversationId} is invalid: ${reason}`);
  }
}

/**
 * A restored conversation's model call that may have reached the provider before its process died, with
 * no answer recorded: sending it again under the same key would be a second request for one
 * (conversation, turn, generation), so the conversation asks for the turn under the next generation.
 * `worstCaseMicros` is what that call could have cost (its reservation lapses into the budget's expired).
 */
export class CallLostError extends ChimeraError {
  constructor(
    readonly key: string,
    readonly worstCaseMicros: number,
    /** Epoch ms the loss was found. */
    readonly at: number,
  ) {
    super('call_lost', `model call ${key} was in flight when its process stopped and has no recorded answer`);
  }
}

export function isChimeraError(error: unknown): error is ChimeraError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ChimeraError>).code === 'string' &&
    'retryable' in error
  );
}

export function isConfigError(error: unknown): error is ConfigError {
  return isChimeraError(error) && error.code === 'config_invalid';
}

export function isEventTooLargeError(error: unknown): error is ChimeraError {
  return isChimeraError(error) && error.code === 'event_too_large';
}

export function isStaleLeaseError(error: unknown): error is StaleLeaseError {
  return isChimeraError(error) && error.code === 'stale_lease';
}

export type ProviderErrorCode =
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'timeout'
  | 'bad_response'
  | 'auth'
  | 'invalid_request'
  | 'quota_exhausted'
  /** A request of a provider batch that the provider did not process before the batch's deadline. */
  | 'expired'
  /** A request of a provider batch that was cancelled before it was processed. */
  | 'cancelled';

/** Codes a retry can fix; the breaker counts only these. A spend-limit 429 maps to `quota_exhausted`, never retried. */
export const RETRYABLE_PROVIDER_CODES: ReadonlySet<ProviderErrorCode> = new Set([
  'rate_limited',
  'overloaded',
  'server_error',
  'timeout',
  'bad_response',
  // Batch requests the provider ran out of time for: the same request in the next batch can succeed.
  'expired',
]);

/** A failed model call, mapped from whatever the SDK threw. */
export class ProviderError extends ChimeraError {
  declare readonly code: ProviderErrorCode;
  readonly provider: string;
  readonly status?: number;
  /** How long the provider asked us to wait (retry-after / retry-after-ms), when it said. */
  readonly retryAfterMs?: number;
  readonly requestId?: string;

  constructor(
    code: ProviderErrorCode,
    message: string,
    details: {
      provider: string;
      status?: number;
      retryAfterMs?: number;
      requestId?: string;
      cause?: unknown;
    },
  ) {
    super(code, message, { retryable: RETRYABLE_PROVIDER_CODES.has(code), cause: details.cause });
    this.provider = details.provider;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.requestId = details.requestId;
  }
}

/**
 * The provider's breaker is open: the call was not made. Not retryable: the resilient provider already
 * waited out the breaker as long as the request allowed (`waitForBreakerUntil`), and a retry now would
 * only be refused again.
 */
export class CircuitOpenError extends ChimeraError {
  readonly provider: string;
  /** When the breaker will let a probe through. */
  readonly retryAt: number;

  constructor(provider: string, retryAt: number) {
    super(
      'circuit_open',
      `circuit for provider ${provider} is open until ${new Date(retryAt).toISOString()}`,
    );
    this.provider = provider;
    this.retryAt = retryAt;
  }
}

/**
 * The rate limiter could not grant a slot within the allowed wait. Not retryable: the wait was already as
 * long as allowed, and retrying would only queue for it again.
 */
export class RateLimitWaitError extends ChimeraError {
  constructor(key: string, neededMs: number, maxWaitMs: number) {
    super(
      'rate_limit_wait_exceeded',
      `rate limit ${key} needs a wait of ${Math.ceil(neededMs)}ms, more than the allowed ${maxWaitMs}ms`,
    );
  }
}

export function isProviderError(error: unknown): error is ProviderError {
  return (
    (isChimeraError(error) && RETRYABLE_PROVIDER_CODES.has(error.code as ProviderErrorCode)) ||
    (isChimeraError(error) &&
      ['auth', 'invalid_request', 'quota_exhausted', 'cancelled'].includes(error.code))
  );
}

export function isCircuitOpenError(error: unknown): error is CircuitOpenError {
  return isChimeraError(error) && error.code === 'circuit_open';
}

/** A payload that does not match its topic's schema: refused before anything is sent. */
export class InvalidEventError extends ChimeraError {
  readonly topic: string;
  readonly reason: string;

  constructor(topic: string, reason: string) {
    super('invalid_event', `payload for topic ${topic} is invalid: ${reason}`);
    this.topic = topic;
    this.reason = reason;
  }
}

export function isInvalidEventError(error: unknown): error is InvalidEventError {
  return isChimeraError(error) && error.code === 'invalid_event';
}
