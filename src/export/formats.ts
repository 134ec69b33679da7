/**
 * Dataset formats: one JSON object per conversation, one conversation per line.
 *
 * - `chimera`: the full {@link ConversationRecord} (topic, providers, per-turn provider, model, tokens,
 *   latency, attempts, termination reason, quality, `simulated`). Nothing is lost; the other formats are
 *   views of it.
 * - `openai`: the chat fine-tuning format, `{"messages":[{"role","content"}]}`.
 * - `sharegpt`: `{"conversations":[{"from","value"}]}`, as read by Axolotl, LLaMA-Factory and FastChat.
 *
 * How the two sides map onto a chat example: the questioner opens and plays the user (`user` / `human`),
 * the answerer plays the assistant (`assistant` / `gpt`), since the answers are what a model should learn
 * to give. The answerer's persona, the instructions its answers were produced under, leads as the system
 * message (`system` role / `from: "system"`) unless `system: false`; the questioner's persona is left out,
 * because nothing in the example is the questioner's to learn. Fine-tuning learns from assistant messages
 * only, so trailing questioner turns (a closing question or farewell nobody answered) are dropped, and a
 * conversation without any answer has no example at all (`null`).
 *
 * Both chat formats carry the conversation id as a top-level `id`, beside `messages` / `conversations`:
 * fine-tuning loaders (TRL, Axolotl, LLaMA-Factory, FastChat) read only the conversation column and ignore
 * it, while it joins each example back to its full `chimera` record (`conversationId`).
 */
import type { ConversationRecord, Speaker } from '../events.js';

export const DATASET_FORMATS = ['chimera', 'openai', 'sharegpt'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export interface FormatOptions {
  /** Lead with the answerer's persona as the system message (`openai`, `sharegpt`). @default true */
  system?: boolean;
}

export interface OpenAiMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface OpenAiExample {
  /** The record's `conversationId`. */
  id: string;
  messages: OpenAiMessage[];
}

export interface ShareGptTurn {
  from: 'system' | 'human' | 'gpt';
  value: string;
}

export interface ShareGptExample {
  /** The record's `conversationId`. */
  id: string;
  conversations: ShareGptTurn[];
}

type Role = 'user' | 'assistant';

const ROLE_OF: Record<Speaker, Role> = { questioner: 'user', answerer: 'assistant' };

/**
 * The dialogue as alternating user/assistant messages, ending on an assistant message. Turns alternate by
 * construction, but two turns from one side in a row (a record edited by hand, a future ending rule) are
 * merged rather than emitted as a pair the chat formats reject.
 */
function dialogue(record: ConversationRecord): Array<{ role: Role; content: string }> {
  const messages: Array<{ role: Role; content: string }> = [];
  for (const turn of record.turns) {
    const role = ROLE_OF[turn.speaker];
    const text = turn.text.trim();
    if (text === '') continue;
    const last = messages.at(-1);
    if (last?.role === role) last.content = `${last.content}\n\n${text}`;
    else messages.push({ role, content: text });
  }
  while (messages.length > 0 && messages.at(-1)!.role !== 'assistant') messages.pop();
  // An example must open with the user: an answerer that somehow spoke first has nothing to answer.
  while (messages.length > 0 && messages[0]!.role !== 'user') messages.shift();
  return messages.some((m) => m.role === 'assistant') ? messages : [];
}

/**
 * The chat messages of a record as the `openai` format has them (system message first unless
 * `system: false`), or an empty list when it holds no answered question. The Parquet `messages` column is
 * this list.
 */
export function chatMessages(record: ConversationRecord, options: FormatOptions = {}): OpenAiMessage[] {
  const messages = dialogue(record);
  if (messages.length === 0) return [];
  const system = options.system ?? true;
  return [...(system ? [{ role: 'system' as const, content: record.personas.answerer }] : []), ...messages];
}

/** The `openai` example of a record, or null when it holds no answered question. */
export function toOpenAi(record: ConversationRecord, options: FormatOptions = {}): OpenAiExample | null {
  const messages = dialogue(record);
  if (messages.length === 0) return null;
  const system = options.system ?? true;
  return {
    id: record.conversationId,
    messages: [
      ...(system ? [{ role: 'system' as const, content: record.personas.answerer }] : []),
      ...messages,
    ],
  };
}

/** The `sharegpt` example of a record, or null when it holds no answered question. */
export function toShareGpt(record: ConversationRecord, options: FormatOptions = {}): ShareGptExample | null {
  const messages = dialogue(record);
  if (messages.length === 0) return null;
  const system = options.system ?? true;
  return {
    id: record.conversationId,
    conversations: [
      ...(system ? [{ from: 'system' as const, value: record.personas.answerer }] : []),
      ...messages.map((m) => ({
        from: m.role === 'user' ? ('human' as const) : ('gpt' as const),
        value: m.content,
      })),
    ],
  };
}

/** One record in `format`, or null when that format has no example for it (see {@link toOpenAi}). */
export function formatRecord(
  record: ConversationRecord,
  format: DatasetFormat,
  options: FormatOptions = {},
): ConversationRecord | OpenAiExample | ShareGptExample | null {
  switch (format) {
    case 'chimera':
      return record;
    case 'openai':
      return toOpenAi(record, options);
    case 'sharegpt':
      return toShareGpt(record, options);
  }
}

export function isDatasetFormat(value: string): value is DatasetFormat {
  return (DATASET_FORMATS as readonly string[]).includes(value);
}
