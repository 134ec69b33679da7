import { sentences } from './tokenize.js';

/**
 * A refusal opens the turn ("I'm sorry, but I can't help with that."), so first-person refusals count only
 * in these opening sentences; later in a long answer the same words are usually a hedge inside content.
 */
export const OPENING_SENTENCES = 2;

const CANNOT =
  "(?:can't|cannot|can not|won't|will not|am unable to|'m unable to|am not able to|'m not able to|must decline to|am not comfortable|'m not comfortable|do not feel comfortable|don't feel comfortable)";

/** The model speaking about itself as a model: boilerplate anywhere in the turn. */
const SELF_AS_MODEL: readonly RegExp[] = [
  /\bas an ai (?:language )?model\b/,
  /\bas a(?:n ai)? (?:large )?language model\b/,
  /\bas an ai(?: assistant| chatbot)?\s*,\s*i\b/,
  /\bi(?:'m| am) (?:just |only |merely )?an ai(?: language model| assistant| model| chatbot)?(?=\s*[,.;:!]|\s+(?:and|so|without|with no|that can't|that cannot)\b)/,
];

/** What a refusal declines to do: serve the request. "I can't help but wonder" does not match. */
const ACT = String.raw`(?:(?:help|assist)(?:\s+(?:you|with|on|in)\b|\s*[.!,;]|$)|(?:(?:provid|comply|complie|fulfil|engag|participat|continu|generat|creat|produc|writ|discuss|answer)\w*|do that|do this|go along with)\b|[.!]|$)`;

/** "I cannot help with that", "I am unable to provide", "I won't continue": first person, inability, an act. */
const FIRST_PERSON_REFUSAL = new RegExp(String.raw`\bi\s*${CANNOT}\s*${ACT}`);

/** "I'm sorry, but I can't...": an apology for declining is a refusal wherever it appears in the turn. */
const APOLOGETIC_REFUSAL = new RegExp(
  String.raw`\b(?:i'm sorry|i am sorry|sorry|i apologi[sz]e)\s*,?\s*(?:but\s+)?i\s*${CANNOT}\s*${ACT}`,
);

/** "I can't provide medical advice, but in general..." is a hedge that goes on to answer, not a refusal. */
const HEDGE_CONTINUES = /\b(?:but|however|although|though|that said)\b/;

/**
 * True when `text` is assistant boilerplate or a refusal rather than a contribution to the conversation.
 * Precise on purpose: a refusal ends the conversation, so discussion about AI ("the AI model cannot yet
 * reliably read scans") must not match. Only first-person statements by the speaker count.
 */
export function detectRefusal(text: string): boolean {
  const normalised = normalise(text);
  if (SELF_AS_MODEL.some((pattern) => pattern.test(normalised))) return true;
  if (APOLOGETIC_REFUSAL.test(normalised)) return true;
  // Split before lower-casing: a full stop followed by a lower-case letter is not a sentence boundary.
  return sentences(text)
    .slice(0, OPENING_SENTENCES)
    .map(normalise)
    .some((sentence) => {
      const match = FIRST_PERSON_REFUSAL.exec(sentence);
      return match !== null && !HEDGE_CONTINUES.test(sentence.slice(match.index + match[0].length));
    });
}

function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u2018\u2019\u02BC]/g, "'")
    .replace(/[*_~`]+/g, '') // markdown emphasis around a phrase must not hide it
    .replace(/\s+/g, ' ')
    .toLowerCase();
}
