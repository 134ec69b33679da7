import type { Speaker, Topic, Turn } from '../events.js';
import type { ChatMessage } from '../services/ports.js';
import type { Personas } from './personas.js';
import { defuseTopicTags, TOPIC_RULE, topicBlock } from './topic-block.js';

/** What the opener is asked to do after the topic, by speaker. */
const OPEN_INSTRUCTION: Record<Speaker, string> = {
  questioner: 'Open the conversation with your first question about this topic.',
  answerer: 'Open the conversation about this topic.',
};

/** Introduces the other side's first turn when it shares the first message with the topic. */
export const OTHER_OPENS = 'The other participant opens the conversation:';

/** Asked when the speaker spoke last, so the request still ends on a user message. */
export const CONTINUE_INSTRUCTION = 'Please continue the conversation.';

/** Stands in for an empty turn: providers reject empty message content. */
export const EMPTY_TURN_PLACEHOLDER = '(no reply)';

export interface TurnRequestInput {
  /** Untrusted: it is passed as delimited, escaped data, never as instructions. */
  topic: Pick<Topic, 'title'>;
  personas: Personas;
  /** The conversation so far, in order. A discarded (repetitive) turn must not be among them. */
  turns: readonly Pick<Turn, 'speaker' | 'text'>[];
  /** Who speaks next. */
  speaker: Speaker;
  /** Appended to the system prompt, e.g. `REPETITION_NUDGE` when a repetitive turn is regenerated. */
  nudge?: string;
}

export interface TurnRequest {
  system: string;
  messages: ChatMessage[];
}

/**
 * The provider request for the next turn, from `speaker`'s point of view: its own earlier turns are
 * `assistant`, the other side's are `user`. The first message is a user message carrying the topic; when
 * the other side opened the conversation, its first turn shares that message. Consecutive turns from the
 * same side are merged, and a request whose history ends with the speaker gets a short user prompt to
 * continue, so the messages always start with `user`, alternate, and end with `user` (Anthropic and Gemini
 * reject anything else).
 */
export function buildTurnRequest(input: TurnRequestInput): TurnRequest {
  const { topic, personas, turns, speaker, nudge } = input;
  const system = [personas[speaker], TOPIC_RULE, nudge?.trim()].filter(Boolean).join('\n\n');

  const messages: ChatMessage[] = [];
  const push = (role: ChatMessage['role'], content: string) => {
    const last = messages.at(-1);
    if (last?.role === role) last.content = `${last.content}\n\n${content}`;
    else messages.push({ role, content });
  };

  const [first, ...rest] = turns;
  const otherOpened = first !== undefined && first.speaker !== speaker;
  const opening = otherOpened
    ? `${topicBlock(topic.title)}\n\n${OTHER_OPENS}\n\n${contentOf(first.text)}`
    : `${topicBlock(topic.title)}\n\n${OPEN_INSTRUCTION[speaker]}`;
  push('user', opening);
  for (const turn of otherOpened ? rest : turns) {
    push(turn.speaker === speaker ? 'assistant' : 'user', contentOf(turn.text));
  }
  if (messages.at(-1)?.role === 'assistant') push('user', CONTINUE_INSTRUCTION);
  return { system, messages };
}

/**
 * A turn as the next request carries it. The other side's first turn shares the first user message with the
 * topic block, and any turn could pose as a new one: topic tags in turns are defused (`defuseTopicTags`).
 */
function contentOf(text: string): string {
  return text.trim() === '' ? EMPTY_TURN_PLACEHOLDER : defuseTopicTags(text);
}
