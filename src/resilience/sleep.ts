/** Waits `ms`; injected wherever a component waits, so tests drive it with fake timers. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The reason an aborted wait rejects with: the signal's own reason, or a standard `AbortError`. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/**
 * A `setTimeout` wait that rejects with the signal's reason as soon as it aborts. It reads the global
 * `setTimeout` at call time, so vitest fake timers installed after import still control it.
 */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
