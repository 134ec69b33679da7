import { type InvalidReasonCode, invalidReason } from './event-codec.js';

/**
 * The checks a topic title passes before it reaches a prompt: something left after trimming, a bounded
 * length (rejected, not truncated: a cut title changes its meaning), and no control or bidirectional
 * formatting characters, which can hide text from a reviewer or restructure the prompt around it.
 */

/** C0 and C1 control characters, DEL included. Newlines and tabs too: a title is one line. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** Bidirectional marks, embeddings, overrides and isolates (the "Trojan Source" set). */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

function problem(code: InvalidReasonCode, detail: string): string {
  return invalidReason(code, detail);
}

/**
 * Returns null for an acceptable title, otherwise the reason (`code: detail`) it is refused.
 * Length counts Unicode code points of the trimmed title.
 */
export function checkTopicTitle(title: string, maxLength: number): string | null {
  const trimmed = title.trim();
  if (trimmed.length === 0) return problem('empty_title', 'the title is empty after trimming whitespace');
  // Count code points only up to the limit: a 100 KB title should not cost a full spread.
  let length = 0;
  for (const _ of trimmed) {
    length += 1;
    if (length > maxLength) break;
  }
  if (length > maxLength) {
    return problem('title_too_long', `${trimmed.length} UTF-16 units, more than the ${maxLength} allowed`);
  }
  const control = CONTROL.exec(trimmed);
  if (control) return problem('control_characters', `${codePoint(control[0])} at ${control.index}`);
  const bidi = BIDI.exec(trimmed);
  if (bidi) return problem('bidi_characters', `${codePoint(bidi[0])} at ${bidi.index}`);
  return null;
}
