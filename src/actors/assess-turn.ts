import type { AssessTurn } from '../machines/conversation.js';
import { assessConversationTurn } from '../quality/assess-turn.js';

/**
 * The quality verdict on a freshly generated turn (pure text functions, see `src/quality`), run as a step
 * of the conversation machine (`assessTurnStep`). Each turn's words and phrases are worked out once per
 * conversation: the earlier turns are passed as the context's own turn objects.
 */
export function assessTurnVerdict(): AssessTurn {
  return (input) => {
    const { verdict, detail } = assessConversationTurn(input);
    return { verdict, detail };
  };
}
