import { fromCallback } from 'xstate';
import type { Clock } from '../services/ports.js';

/**
 * The conversation deadline: sends TIMEOUT at `at`, measured on the injected clock. The machine passes
 * `startedAt + timeout`, so a conversation restored after a crash re-arms the same deadline.
 */
export function deadlineActor(clock: Clock) {
  return fromCallback<{ type: 'TIMEOUT' }, { at: number }>(({ sendBack, input }) => {
    const timer = setTimeout(() => sendBack({ type: 'TIMEOUT' }), Math.max(0, input.at - clock.now()));
    return () => clearTimeout(timer);
  });
}
