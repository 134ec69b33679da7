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
  // Counted before normalising: NFC and the split below cost memory and time in proportion to the title,
  // so a title far over the limit is refused on a count that allocates nothing.
  const before = countCodePoints(title.trim());
  if (before > maxLength * NFC_MAX_COMPOSITION) {
    return { ok: false, reason: `title is ${before} characters, more than the ${maxLength} allowed` };
  }
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

/**
 * NFC composes at most four code points into one (U+1F8F is U+0391 U+0314 U+0342 U+0345), so a title of more
 * than four times the limit before normalising is still over it after.
 */
const NFC_MAX_COMPOSITION = 4;

/** Code points of `text` (an unpaired surrogate counts as one), without allocating. */
function countCodePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

function codePoint(character: string): string {
  return `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
