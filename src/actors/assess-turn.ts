import { fromPromise } from 'xstate';
import type { AssessTurnInput, AssessTurnOutput } from '../machines/conversation.js';
import { assessTurn } from '../quality/assess-turn.js';

/** The quality verdict on a freshly generated turn (pure text functions, see `src/quality`). */
export function assessTurnActor() {
  return fromPromise<AssessTurnOutput, AssessTurnInput>(async ({ input }) => {
    const { verdict, detail } = assessTurn(input);
    return { verdict, detail };
  });
}
