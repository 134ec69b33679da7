import type { ConversationRecord } from '../../events.js';

/**
 * The words of a conversation as duplicate detection compares them: every turn's text, Unicode-folded
 * (NFKC), lower-cased, with punctuation and symbols as separators. Personas and metadata are left out:
 * two conversations that say the same things are duplicates whoever was told to say them.
 */
export function conversationWords(record: Pick<ConversationRecord, 'turns'>): string[] {
  const words: string[] = [];
  for (const turn of record.turns) {
    for (const word of turn.text
      .normalize('NFKC')
      .toLowerCase()
      .split(/[^\p{L}\p{N}']+/u)) {
      const trimmed = word.replace(/^'+|'+$/g, '');
      if (trimmed !== '') words.push(trimmed);
    }
  }
  return words;
}
