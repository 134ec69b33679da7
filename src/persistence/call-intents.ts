/**
 * Which model call of each conversation is durably recorded as in flight: the persister reports every
 * saved step's `inFlight` (`saved`), and the call path waits here (`whenDurable`) before sending a call, so
 * the step write the conversation makes anyway on entering `callingModel` carries the call's intent. No
 * write of its own, no extra round trip: the call only starts after that write instead of beside it.
 *
 * Why it matters: a restored conversation whose saved step shows no call in flight knows that call was
 * never sent, and one whose saved step shows it knows it may have been; so a call is never sent twice
 * under one (conversation, turn, generation) (see `conversationMachine`, `callModelActor`).
 */
import type { CallKey } from '../machines/conversation.js';

const keyOf = (key: CallKey) => `${key.turnIndex}:${key.generation}`;

interface Waiter {
  key: string;
  resolve: () => void;
}

export class CallIntents {
  /** Per conversation, the in-flight call of its last durable step (absent: none). */
  private readonly durable = new Map<string, string>();
  private readonly waiters = new Map<string, Set<Waiter>>();

  /**
   * A newer step of the conversation waits to be written: until it is durable, no call counts as recorded
   * (a call must not go out on the strength of an older step, e.g. one saved before a pause).
   */
  stepped(conversationId: string): void {
    this.durable.delete(conversationId);
  }

  /**
   * The conversation's latest step is durable in the store, with `inFlight` as the call it records (the
   * persister reports only a write after which no newer step is waiting).
   */
  saved(conversationId: string, inFlight: CallKey | undefined): void {
    if (!inFlight) {
      this.durable.delete(conversationId);
      return;
    }
    const key = keyOf(inFlight);
    this.durable.set(conversationId, key);
    const waiting = this.waiters.get(conversationId);
    if (!waiting) return;
    for (const waiter of waiting) {
      if (waiter.key !== key) continue;
      waiting.delete(waiter);
      waiter.resolve();
    }
    if (waiting.size === 0) this.waiters.delete(conversationId);
  }

  /** Resolves once a step recording `key` as in flight is durable; rejects with the signal's reason. */
  whenDurable(conversationId: string, key: CallKey, signal: AbortSignal): Promise<void> {
    const wanted = keyOf(key);
    if (this.durable.get(conversationId) === wanted) return Promise.resolve();
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const waiting = this.waiters.get(conversationId) ?? new Set<Waiter>();
      this.waiters.set(conversationId, waiting);
      const onAbort = () => {
        waiting.delete(waiter);
        if (waiting.size === 0 && this.waiters.get(conversationId) === waiting)
          this.waiters.delete(conversationId);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        key: wanted,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      waiting.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The conversation is no longer this process's (finished or lost): its entry goes. */
  forget(conversationId: string): void {
    this.durable.delete(conversationId);
  }

  /** Conversations tracked (for tests of the bound: it shrinks as conversations are released). */
  get size(): number {
    return this.durable.size;
  }
}
