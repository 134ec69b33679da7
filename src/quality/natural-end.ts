import { sentences } from './tokenize.js';

/**
 * Closings sit at the end of a turn: thanks, a wish, a goodbye. Three sentences cover that run, while a
 * "thanks for the great discussion" followed by more explanation is a speaker who has not finished.
 */
export const CLOSING_SENTENCES = 3;

const DISCUSSION = '(?:discussion|conversation|chat|exchange|talk|dialogue|interview|session)';
const PRAISE = String.raw`(?:(?:great|good|wonderful|fascinating|insightful|lovely|thoughtful|engaging|enlightening|interesting|stimulating|informative|rich|excellent|illuminating|delightful|enjoyable|productive|fantastic|amazing|such an?|really|truly|very|most)\s+)*`;
const PLEASURE = '(?:pleasure|delight|joy|privilege|treat|honou?r)';
const TALKING =
  '(?:talking|chatting|speaking|discussing|exploring|conversing|to talk|to chat|to speak|to discuss|to explore)';

/**
 * Farewell phrases, each written so that its everyday use does not match: "say goodbye to coal",
 * "take care to insulate", "thank you for the question" and "a pleasure to explain" stay silent.
 */
const FAREWELLS: readonly RegExp[] = [
  // "Goodbye!", "goodbye for now", but not "say goodbye to fossil fuels"
  /(?<!\b(?:say|said|saying|says|kiss|kissed|wave|waved|bid|bade|bidding)\s+)\bgood-?\s?bye\b(?!\s+to\b)/,
  /\bbye(?:\s+for\s+now|\s+now)?\s*(?:[!.,]|$)/,
  /(?<!\b(?:a|the|his|her|their|its)\s+)\bfarewell\b(?!\s+(?:to|tour|address|speech|party|gift|concert)\b)/,
  // "Take care!", "take care of yourself", but not "take care to..." or "take care of the batteries"
  /\btake care(?:\s+of\s+yourself)?\s*(?:[!.,;]|$)/,
  /\buntil next time\b/,
  /\bsee you\s+(?:soon|later|next time|around|then)\b/,
  /\btalk (?:to you |with you )?(?:soon|later|again soon)\b/,
  /\bhave an? (?:great|good|nice|wonderful|lovely|fantastic|pleasant) (?:day|evening|night|week|weekend|one|rest of (?:the|your) day)\b/,
  /\bsigning off\b/,
  // "Thanks for the great discussion", not "thank you for the question"
  new RegExp(
    String.raw`\b(?:thanks|thank you)(?:\s+(?:so|very)\s+much)?(?:\s+again)?\s+for\s+(?:the|this|a|our|such an?)\s+${PRAISE}${DISCUSSION}\b`,
  ),
  /\b(?:thanks|thank you)(?:\s+(?:so|very)\s+much)?(?:\s+again)?\s+for\s+having\s+me\b/,
  // "It was a pleasure talking with you", not "it is a pleasure to explain"
  new RegExp(
    String.raw`\b(?:it|this)\s*(?:was|has been|'s been)\s+(?:a|an)\s+(?:real|great|true|absolute)?\s*${PLEASURE}\s+${TALKING}\b`,
  ),
  new RegExp(
    String.raw`\b(?:this|it)\s*(?:was|has been|'s been)\s+(?:a|an|such a|such an)\s+${PRAISE}${DISCUSSION}\b`,
  ),
  new RegExp(
    String.raw`\bi(?:'ve| have)?\s+(?:really\s+|truly\s+|thoroughly\s+)?enjoyed\s+(?:our|this|the)\s+${PRAISE}${DISCUSSION}\b`,
  ),
  /\b(?:let's|let us|we should|we can|time to|i think we can|i think we should)\s+wrap (?:things |this |it )?up\b/,
  /\b(?:let's|let us|we can|we should)\s+(?:end|stop|conclude|close)\s+(?:here|there|our (?:discussion|conversation)|the (?:discussion|conversation))\b/,
  /\b(?:a good|a great|the right) (?:place|point|moment) to (?:stop|end|wrap up|leave it|conclude)\b/,
];

/**
 * True when `text` (one turn) closes the conversation: a farewell in its final sentences. A turn that ends
 * on a question hands the floor back ("thanks for the great chat, any final thoughts?"), so it has not
 * ended the conversation yet, whatever courtesy came before.
 */
export function detectNaturalEnd(text: string): boolean {
  // Split before lower-casing: a full stop followed by a lower-case letter is not a sentence boundary.
  // Only the closing sentences are read, so only they are normalised.
  const closing = sentences(text).slice(-CLOSING_SENTENCES).map(normalise);
  const last = closing.at(-1);
  if (last === undefined || last.endsWith('?')) return false;
  return closing.some((sentence) => FAREWELLS.some((pattern) => pattern.test(sentence)));
}

function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u2018\u2019\u02BC]/g, "'")
    .replace(/[*_~`]+/g, '') // markdown emphasis around a phrase must not hide it
    .toLowerCase();
}
