import { describe, expect, it } from 'vitest';
import { distinctNOfTokens } from '../../src/quality/distinct-n.js';
import { sentences, tokenize } from '../../src/quality/tokenize.js';
import { HEALTHCARE_REPETITIVE, RENEWABLE_ENERGY } from './fixtures.js';

/**
 * The reference: how every text was split into words before ASCII text got a path of its own. Kept here,
 * independent of the code under test, so that the fast path must give the same words for every input.
 */
const referenceSegmenter = new Intl.Segmenter('und', { granularity: 'word' });
function referenceTokenize(text: string): string[] {
  const folded = text
    .normalize('NFKC')
    .replace(/[\u2018\u2019\u02BC\uFF07]/g, "'")
    .toLowerCase();
  const words: string[] = [];
  for (const segment of referenceSegmenter.segment(folded)) {
    if (segment.isWordLike) words.push(segment.segment);
  }
  return words;
}

/** A small seeded generator (mulberry32), so that a failure names an input that can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function randomText(next: () => number, alphabet: readonly string[], maxLength: number): string {
  const length = Math.floor(next() * (maxLength + 1));
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)]!;
  return text;
}

/** Every character the word rules treat specially, and a few they treat as any other. */
const ASCII_CLASSES = [...'aZq09_:.\',;- \t\r\n!?"@#$%()/'];
const ALL_ASCII = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code));
/** Letters, marks and punctuation of other scripts, and the forms NFKC and the apostrophe folding change. */
const UNICODE = [
  ...ASCII_CLASSES,
  ...'éÉøØßüçñ\u0301\u0308ÆﬁＧｒｉｄ０１：．，＇\u2018\u2019\u02BC\u201C\u201D\u2014\u2013\u2026\u00A0\u00B7\u05D0\u05F3',
  ...'太阳能发电很便宜ひらがなカタカナ한국어ไทยภาษาДобрыйденьΑθήνα',
  '😀',
  '👍🏽',
  '\u200D',
  '\u00AD',
];

function expectSameWords(texts: Iterable<string>): number {
  let checked = 0;
  for (const text of texts) {
    const words = tokenize(text);
    const expected = referenceTokenize(text);
    if (words.length !== expected.length || words.some((word, i) => word !== expected[i])) {
      expect({ text, words }).toEqual({ text, words: expected });
    }
    checked++;
  }
  return checked;
}

function* allStrings(alphabet: readonly string[], maxLength: number, prefix = ''): Generator<string> {
  yield prefix;
  if (prefix.length === maxLength) return;
  for (const char of alphabet) yield* allStrings(alphabet, maxLength, prefix + char);
}

function* randomTexts(seed: number, count: number, alphabet: readonly string[], maxLength: number) {
  const next = random(seed);
  for (let i = 0; i < count; i++) yield randomText(next, alphabet, maxLength);
}

describe('tokenize gives the words the Unicode segmenter gives', () => {
  it('for every string of up to four characters drawn from each kind of ASCII character', () => {
    // 26 characters: 1 + 26 + 26² + 26³ + 26⁴ strings.
    expect(ASCII_CLASSES).toHaveLength(26);
    expect(expectSameWords(allStrings(ASCII_CLASSES, 4))).toBe(475_255);
  });

  it('for random strings over all 128 ASCII characters', () => {
    expectSameWords(randomTexts(17, 20_000, ALL_ASCII, 40));
  });

  it('for random longer strings rich in letters, digits and the characters that join them', () => {
    const weighted = [...ASCII_CLASSES, ..."abcdefxyz0123456789.'_:,; "];
    expectSameWords(randomTexts(29, 20_000, weighted, 80));
  });

  it('for random strings mixing other scripts, marks, emoji and compatibility forms', () => {
    expectSameWords(randomTexts(43, 20_000, UNICODE, 40));
  });

  it('for English prose with contractions, numbers, abbreviations and markup', () => {
    const prose = [
      ...RENEWABLE_ENERGY,
      ...HEALTHCARE_REPETITIVE,
      "It's 3.5% cheaper (i.e. $1,200.50 less); see e.g. https://example.com/a_b?x=1 or mail me@host.org.",
      "Rock 'n' roll isn't dead: the 1990's U.S.A. tour, ratio 3:2, time 10:45, snake_case __init__ _ __",
      '**Bold** _emphasis_ `code` - list\n* item\r\n1. first\n\n> quote -- em—dash',
    ];
    expectSameWords(prose);
    // The same prose with one character of another script in it goes through the segmenter.
    expectSameWords(prose.map((text) => `${text} café`));
  });
});

describe('tokenize', () => {
  it('returns the same frozen list for the same text', () => {
    const words = tokenize('Wind and solar, again and again.');
    expect(Object.isFrozen(words)).toBe(true);
    expect(tokenize('Wind and solar, again and again.')).toBe(words);
  });
});

describe('sentences', () => {
  it('gives each caller its own list, even for the text it split just before', () => {
    const text = 'First point. Second point! A question?';
    const expected = ['First point.', 'Second point!', 'A question?'];
    sentences(text).push('changed by a caller');
    sentences(text).push('changed by another caller');
    expect(sentences(text)).toEqual(expected);
    expect(sentences('Another text. Here.')).toEqual(['Another text.', 'Here.']);
  });
});

describe('distinctNOfTokens', () => {
  it('rejects an n-gram size that is not a whole number >= 1 as soon as there is a text', () => {
    expect(() => distinctNOfTokens([[]], 0)).toThrow(/n-gram size must be a whole number >= 1 \(got 0\)/);
    expect(() => distinctNOfTokens([['a']], 1.5)).toThrow(/got 1.5/);
    expect(distinctNOfTokens([], 0)).toBe(0);
  });

  it('counts unique n-grams over all n-grams, never across two texts', () => {
    const texts = [
      ['a', 'b', 'a', 'b'],
      ['b', 'a'],
    ];
    // Bigrams: "a b", "b a", "a b" | "b a": 2 unique of 4.
    expect(distinctNOfTokens(texts, 2)).toBe(0.5);
    // Trigrams: "a b a", "b a b": 2 unique of 2; the second text has none.
    expect(distinctNOfTokens(texts, 3)).toBe(1);
  });
});
