import { fromCallback } from 'xstate';
import type { Clock } from '../services/ports.js';

/** `setTimeout`'s longest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A deadline: sends TIMEOUT at `at`, measured on the injected clock; never when `at` is null. The machine
 * passes `startedAt + timeout` for the conversation (null in batch mode) and, in batch mode, the start of
 * the turn's window + `BATCH_MAX_WAIT_HOURS` for each call, both from stored times, so a conversation
 * restored after a crash re-arms the same deadlines. A deadline further away than one timer can wait is
 * re-armed in steps.
 */
export function deadlineActor(clock: Clock) {
  return fromCallback<{ type: 'TIMEOUT' }, { at: number | null }>(({ sendBack, input }) => {
    const { at } = input;
    if (at === null) return () => {};
    let timer: NodeJS.Timeout;
    const arm = () => {
      const left = Math.max(0, at - clock.now());
      timer = setTimeout(
        () => (left > MAX_TIMER_MS ? arm() : sendBack({ type: 'TIMEOUT' })),
        Math.min(left, MAX_TIMER_MS),
      );
    };
    arm();
    return () => clearTimeout(timer);
  });
}
