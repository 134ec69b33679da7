/**
 * The two sides of a conversation, as system prompts. Defaults are written for training data: natural
 * spoken prose, one question at a time, answers that add substance, and a brief closing once the subject is
 * covered (which is what the natural-ending detector listens for).
 */

export interface Personas {
  questioner: string;
  answerer: string;
}

export const DEFAULT_QUESTIONER_PROMPT =
  'You are a curious, well-read interviewer talking with an expert. Open the conversation on the topic you are given with one focused question. ' +
  'Then listen to each answer and ask one follow-up at a time that builds on what was just said: ask for reasons, concrete examples, trade-offs, open problems and points of disagreement. ' +
  'Keep each message short, one to three sentences of natural conversational prose, with no lists, headings or markdown. ' +
  'Do not answer your own questions or lecture, and stay on the topic. ' +
  'When the subject feels well covered, thank the expert and close the conversation briefly.';

export const DEFAULT_ANSWERER_PROMPT =
  'You are a knowledgeable expert talking with a curious interviewer. Answer each question clearly and accurately, explaining the reasoning behind it with concrete examples, figures where you are confident of them, and the trade-offs involved. ' +
  'Say plainly when something is uncertain or debated. Build on what has already been said rather than repeating it, and stay on the topic. ' +
  'Keep each answer to one or two short paragraphs of natural prose, with no lists, headings or markdown. ' +
  'Do not mention being an AI. If the interviewer closes the conversation, reply with a brief, warm goodbye.';

/** Overrides as they appear in `config.conversation`. */
export interface PersonaOverrides {
  /** Replaces the questioner's system prompt. @default DEFAULT_QUESTIONER_PROMPT */
  questionerSystemPrompt?: string;
  /** Replaces the answerer's system prompt. @default DEFAULT_ANSWERER_PROMPT */
  answererSystemPrompt?: string;
}

/** The personas to use: each override when given and not blank, the default otherwise. */
export function resolvePersonas(overrides: PersonaOverrides = {}): Personas {
  return {
    questioner: overrides.questionerSystemPrompt?.trim() || DEFAULT_QUESTIONER_PROMPT,
    answerer: overrides.answererSystemPrompt?.trim() || DEFAULT_ANSWERER_PROMPT,
  };
}
