/** Pure prompt construction and topic validation: no I/O. */
export {
  DEFAULT_ANSWERER_PROMPT,
  DEFAULT_QUESTIONER_PROMPT,
  type PersonaOverrides,
  type Personas,
  resolvePersonas,
} from './personas.js';
export {
  defuseTopicTags,
  escapeTopicTitle,
  TOPIC_CLOSE_TAG,
  TOPIC_OPEN_TAG,
  TOPIC_RULE,
  topicBlock,
} from './topic-block.js';
export { type TopicTitleValidation, validateTopicTitle } from './topic-title.js';
export {
  buildTurnRequest,
  CONTINUE_INSTRUCTION,
  EMPTY_TURN_PLACEHOLDER,
  type TurnRequest,
  type TurnRequestInput,
} from './turn-request.js';
