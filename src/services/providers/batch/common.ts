import type { ProviderError } from '../../../errors.js';
import type { BatchCounts, BatchRequest, BatchState, Clock } from '../../ports.js';
import { providerError } from '../map-error.js';

/** Options every batch adapter takes beside its `ProviderConfig`. */
export interface BatchAdapterOptions {
  /**
   * Reads time for latencies and retry-after dates.
   * @default systemClock
   */
  clock?: Clock;
}

export function zeroCounts(): BatchCounts {
  return { processing: 0, succeeded: 0, errored: 0, expired: 0, cancelled: 0 };
}

/**
 * Checks a batch against the provider's limits before anything is sent: not empty, no more requests than
 * `maxRequests`, each custom id once, and a body of at most `maxBytes`.
 * @throws {ProviderError} `invalid_request` (not retryable) naming the limit.
 */
export function checkBatch(
  provider: string,
  requests: readonly BatchRequest[],
  limits: { maxRequests: number; maxBytes: number },
): void {
  if (requests.length === 0) {
    throw providerError('invalid_request', 'a batch needs at least one request', { provider });
  }
  if (requests.length > limits.maxRequests) {
    throw providerError(
      'invalid_request',
      `a batch holds at most ${limits.maxRequests} requests (got ${requests.length})`,
      { provider },
    );
  }
  const seen = new Set<string>();
  for (const { customId } of requests) {
    if (customId === '') throw providerError('invalid_request', 'a custom id is empty', { provider });
    if (seen.has(customId)) {
      throw providerError('invalid_request', `custom id ${customId} appears twice in one batch`, {
        provider,
      });
    }
    seen.add(customId);
  }
}

/** Throws when the serialized batch is larger than the provider accepts. */
export function checkBytes(provider: string, bytes: number, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw providerError(
      'invalid_request',
      `the batch is ${bytes} bytes, more than the ${maxBytes} the provider accepts`,
      { provider },
    );
  }
}

/** The error of a request the provider did not process before the batch's deadline (retryable). */
export function expiredError(provider: string, customId: string, detail?: string): ProviderError {
  return providerError('expired', `request ${customId} expired in its batch${detail ? `: ${detail}` : ''}`, {
    provider,
  });
}

/** The error of a request cancelled with its batch (not retryable). */
export function cancelledError(provider: string, customId: string): ProviderError {
  return providerError('cancelled', `request ${customId} was cancelled with its batch`, { provider });
}

/** Milliseconds between two provider timestamps, or 0 when either is missing. */
export function elapsedMs(from: number | undefined, to: number | undefined): number {
  return from !== undefined && to !== undefined && to >= from ? to - from : 0;
}

export function parseTime(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** States whose results can be read: the provider has stopped processing the batch. */
export function isFinished(state: BatchState): boolean {
  return state !== 'in_progress' && state !== 'cancelling';
}

/**
 * Refuses to read the results of a batch still being processed (they would be missing, not failed).
 * @throws {ProviderError} `invalid_request`, not retryable: the caller polls until the batch is done.
 */
export function requireFinished(provider: string, batchId: string, state: BatchState): void {
  if (!isFinished(state)) {
    throw providerError('invalid_request', `batch ${batchId} is ${state}: its results are not ready`, {
      provider,
    });
  }
}
