/**
 * Word and sentence splitting shared by every quality measure, so that distinct-n, repetition and the
 * detectors all agree on what a "word" is.
 *
 * `Intl.Segmenter` follows Unicode word and sentence boundaries (UAX #29): accented Latin, Cyrillic and
 * Greek words stay whole, scripts without spaces (Chinese, Japanese, Thai) are split into words instead of
 * becoming one giant token, contractions like "don't" stay one word, and punctuation is dropped.
 */

const wordSegmenter = new Intl.Segmenter('und', { granularity: 'word' });
const sentenceSegmenter = new Intl.Segmenter('und', { granularity: 'sentence' });

/** Typographic apostrophes and quotes that models emit interchangeably with the ASCII ones. */
const APOSTROPHES = /[\u2018\u2019\u02BC\uFF07]/g;

/**
 * Every turn is judged against all the turns before it, so each text is tokenised once per later turn of
 * its conversation (and again for the final score): remembering recent texts makes that once. Segmenting
 * is the costliest step of a turn after the model call itself.
 */
const TOKEN_CACHE_LIMIT = 16_384;
const tokenCache = new Map<string, readonly string[]>();

/**
 * Lower-case words of `text`, punctuation stripped. NFKC folds compatibility forms (full-width letters,
 * ligatures) so that "ｆｉｎｅ" and "fine" count as the same word.
 */
export function tokenize(text: string): readonly string[] {
  const cached = tokenCache.get(text);
  if (cached) return cached;
  const words = !NON_ASCII.test(text) ? asciiWords(text.toLowerCase()) : segmentedWords(text);
  // Frozen because it is shared: a caller that tried to change it would corrupt later answers.
  Object.freeze(words);
  if (tokenCache.size >= TOKEN_CACHE_LIMIT) tokenCache.clear();
  tokenCache.set(text, words);
  return words;
}

/** The general path: `Intl.Segmenter` over the folded text. */
function segmentedWords(text: string): string[] {
  const folded = text.normalize('NFKC').replace(APOSTROPHES, "'").toLowerCase();
  const words: string[] = [];
  for (const segment of wordSegmenter.segment(folded)) {
    if (segment.isWordLike) words.push(segment.segment);
  }
  return words;
}

/**
 * Any UTF-16 code unit outside ASCII (surrogates included). Text without one, which NFKC and the
 * apostrophe folding leave as it is, is the common case (English turns): {@link asciiWords} splits it
 * instead of the segmenter, which costs several times more per character.
 */
const NON_ASCII = /[\u0080-\uffff]/;

// Word_Break classes (UAX #29) of the ASCII characters that take part in words; every other one is Other.
const OTHER = 0;
const LETTER = 1; // ALetter: a-z (the text is lower-cased first; A-Z are ALetter too)
const DIGIT = 2; // Numeric
const CONNECTOR = 3; // ExtendNumLet: "_"
const MID_LETTER = 4; // MidLetter: ":" (ICU keeps it, so "a:b" is one word)
const MID_NUM_LET = 5; // MidNumLet and Single_Quote: "." and "'"
const MID_NUM = 6; // MidNum: "," and ";"

const ASCII_CLASS = new Uint8Array(128);
for (let c = 0x61; c <= 0x7a; c++) ASCII_CLASS[c] = LETTER;
for (let c = 0x41; c <= 0x5a; c++) ASCII_CLASS[c] = LETTER;
for (let c = 0x30; c <= 0x39; c++) ASCII_CLASS[c] = DIGIT;
ASCII_CLASS[0x5f] = CONNECTOR;
ASCII_CLASS[0x3a] = MID_LETTER;
ASCII_CLASS[0x2e] = MID_NUM_LET;
ASCII_CLASS[0x27] = MID_NUM_LET;
ASCII_CLASS[0x2c] = MID_NUM;
ASCII_CLASS[0x3b] = MID_NUM;

/**
 * The word-like segments `Intl.Segmenter` finds in ASCII `text`, by the same rules restricted to ASCII:
 * letters, digits and "_" join one another (WB5, WB8-WB10, WB13a/b); a ":" between two letters, a "." or
 * "'" between two letters or two digits, and a "," or ";" between two digits stay inside the word (WB6/7,
 * WB11/12). A run is word-like when it holds a letter or a digit, or at least two "_" (ICU's status for
 * a lone "_" is none). test/quality/tokenize.test.ts checks it against the segmenter on random text.
 */
function asciiWords(text: string): string[] {
  const words: string[] = [];
  const length = text.length;
  let i = 0;
  while (i < length) {
    let kind = ASCII_CLASS[text.charCodeAt(i)]!;
    if (kind === OTHER || kind > CONNECTOR) {
      i++;
      continue;
    }
    const start = i;
    let wordLike = kind !== CONNECTOR;
    i++;
    while (i < length) {
      const next = ASCII_CLASS[text.charCodeAt(i)]!;
      if (next !== OTHER && next <= CONNECTOR) {
        if (next !== CONNECTOR) wordLike = true;
        kind = next;
        i++;
        continue;
      }
      if (i + 1 < length && next !== OTHER) {
        const after = ASCII_CLASS[text.charCodeAt(i + 1)]!;
        const joinsLetters = kind === LETTER && after === LETTER && next !== MID_NUM;
        const joinsDigits = kind === DIGIT && after === DIGIT && next !== MID_LETTER;
        if (joinsLetters || joinsDigits) {
          i += 2;
          continue;
        }
      }
      break;
    }
    if (wordLike || i - start >= 2) words.push(text.slice(start, i));
  }
  return words;
}

/** Consecutive runs of `n` tokens, joined by a space (a separator no token contains). */
export function ngrams(tokens: readonly string[], n: number): string[] {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`n-gram size must be a whole number >= 1 (got ${n})`);
  const grams: string[] = [];
  for (let i = 0; i + n <= tokens.length; i++) {
    let gram = tokens[i]!;
    for (let j = 1; j < n; j++) gram += ` ${tokens[i + j]!}`;
    grams.push(gram);
  }
  return grams;
}

/**
 * The text {@link sentences} split last and its sentences: one assessment asks for the sentences of the
 * same turn twice (the refusal and the farewell checks), and segmenting is what costs.
 */
let lastSplit: { text: string; sentences: readonly string[] } | undefined;

/** Sentences of `text`, trimmed, empty ones dropped. */
export function sentences(text: string): string[] {
  if (lastSplit?.text === text) return lastSplit.sentences.slice();
  const out: string[] = [];
  for (const segment of sentenceSegmenter.segment(text)) {
    const sentence = segment.segment.trim();
    if (sentence) out.push(sentence);
  }
  lastSplit = { text, sentences: out.slice() };
  return out;
}
