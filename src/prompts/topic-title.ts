/**
 * Validation of a topic title before a conversation starts. Titles come from outside (Kafka, the Redis
 * queue, the CLI) and end up inside prompts, so characters that hide or reorder text are refused rather
 * than silently dropped: the producer learns what was wrong, and no one reads a title that differs from
 * what the model reads.
 */

export type TopicTitleValidation = { ok: true; title: string } | { ok: false; reason: string };

/** U+202A-U+202E embeddings and overrides, U+2066-U+2069 isolates, LRM/RLM and the Arabic letter mark. */
const BIDI = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u;

/**
 * Characters that render as nothing: zero-width space, word joiner and invisible operators, the byte order
 * mark, the Mongolian vowel separator, soft hyphen and interlinear annotation marks. They let a title carry
 * text a reviewer cannot see. Zero-width joiner and non-joiner (U+200C, U+200D) are allowed: emoji
 * sequences and Persian and Indic spelling need them, and they cannot hide or reorder words.
 */
const INVISIBLE = /[\u200B\u2060-\u2064\uFEFF\u180E\u00AD\uFFF9-\uFFFB]/u;

/** Tag characters (U+E0000-U+E007F) spell ASCII invisibly: a known way to smuggle instructions to a model. */
const TAG = /[\u{E0000}-\u{E007F}]/u;

/** C0 controls (tab and newline included: a title is one line), DEL and C1 controls: Unicode category Cc. */
const CONTROL = /\p{Cc}/u;

/** Line and paragraph separators: line breaks by another name. */
const LINE_SEPARATOR = /[\u2028\u2029]/u;

const LONE_SURROGATE = /[\uD800-\uDFFF]/u; // with the u flag only an unpaired half matches

const RULES: ReadonlyArray<[RegExp, string]> = [
  [LONE_SURROGATE, 'an unpaired surrogate'],
  [CONTROL, 'a control character'],
  [LINE_SEPARATOR, 'a line separator'],
  [BIDI, 'a bidirectional control character'],
  [INVISIBLE, 'an invisible character'],
  [TAG, 'an invisible tag character'],
];

/**
 * Trims and NFC-normalises `title`, then rejects it (never truncates or strips) when it is empty, longer than
 * `maxLength` characters (Unicode code points), or contains a character from the rules above. A reason names
 * the first problem, the code point and its position, counting characters of the trimmed title from 1:
 * `title contains a bidirectional control character U+202E at position 14`.
 */
export function validateTopicTitle(title: string, maxLength: number): TopicTitleValidation {
  const normalised = title.normalize('NFC').trim();
  if (normalised === '') return { ok: false, reason: 'title is empty' };
  const characters = Array.from(normalised);
  if (characters.length > maxLength) {
    return {
      ok: false,
      reason: `title is ${characters.length} characters, more than the ${maxLength} allowed`,
    };
  }
  for (const [position, character] of characters.entries()) {
    for (const [pattern, what] of RULES) {
      if (pattern.test(character)) {
        return {
          ok: false,
          reason: `title contains ${what} ${codePoint(character)} at position ${position + 1}`,
        };
      }
    }
  }
  return { ok: true, title: normalised };
}

function codePoint(character: string): string {
  return `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
