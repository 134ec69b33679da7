import { isProviderError, type ProviderError } from '../../errors.js';
import type { Clock } from '../ports.js';
import { abortReason, providerError } from './map-error.js';

/**
 * Runs one SDK call under a deadline of our own, joined with the caller's signal, so that every adapter
 * treats the three ways a call can stop the same way:
 * - the caller aborted: the call rejects with the signal's reason (not a provider failure);
 * - our deadline fired: a retryable `timeout`, whatever the SDK threw while being aborted;
 * - anything else: the SDK error mapped by the adapter.
 * The SDKs have timeouts too, but some only bound the wait for response headers; the deadline also
 * covers a body that stalls halfway.
 */
export interface GuardedCallOptions {
  provider: string;
  apiKey?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  clock: Clock;
  mapError: (error: unknown) => ProviderError;
}

export async function guardedCall<T>(
  options: GuardedCallOptions,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<{ value: T; latencyMs: number }> {
  const { signal: callerSignal } = options;
  if (callerSignal?.aborted) throw abortReason(callerSignal);

  const controller = new AbortController();
  let timedOut = false;
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${options.timeoutMs}ms`, 'TimeoutError'));
  }, options.timeoutMs);

  const startedAt = options.clock.now();
  try {
    const value = await call(controller.signal);
    return { value, latencyMs: Math.max(0, options.clock.now() - startedAt) };
  } catch (error) {
    if (callerSignal?.aborted) throw abortReason(callerSignal);
    if (timedOut) {
      throw providerError('timeout', `no answer within ${options.timeoutMs}ms`, {
        provider: options.provider,
        apiKey: options.apiKey,
        cause: error,
      });
    }
    if (isProviderError(error)) throw error;
    throw options.mapError(error);
  } finally {
    clearTimeout(timer);
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }
}
