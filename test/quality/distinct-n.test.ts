import { describe, expect, it } from 'vitest';
import { distinctN } from '../../src/quality/distinct-n.js';
import { ngrams, tokenize } from '../../src/quality/tokenize.js';

describe('tokenize', () => {
  it('lower-cases words and strips punctuation', () => {
    expect(tokenize('Solar, wind -- and STORAGE!')).toEqual(['solar', 'wind', 'and', 'storage']);
  });

  it('keeps contractions and accented words whole and treats typographic apostrophes like plain ones', () => {
    expect(tokenize('Don’t underestimate Ørsted’s Éolien offshore')).toEqual([
      "don't",
      'underestimate',
      "ørsted's",
      'éolien',
      'offshore',
    ]);
  });

  it('folds full-width letters to their ordinary form', () => {
    expect(tokenize('ＧＲＩＤ grid')).toEqual(['grid', 'grid']);
  });

  it('splits scripts written without spaces into words', () => {
    expect(tokenize('太阳能发电很便宜').length).toBeGreaterThan(1);
  });

  it('gives no words for punctuation alone', () => {
    expect(tokenize(' ... !? -- ')).toEqual([]);
  });
});

describe('distinctN', () => {
  it('counts unique unigrams over all unigrams', () => {
    // "the cat saw the dog": 5 words, 4 distinct
    expect(distinctN(['The cat saw the dog.'], 1)).toBe(4 / 5);
  });

  it('counts unique bigrams over all bigrams across texts', () => {
    // bigrams: [a b, b a, a b] + [a b, b c]: 5 in all, distinct {a b, b a, b c} = 3
    expect(distinctN(['a b a b', 'a b c'], 2)).toBe(3 / 5);
  });

  it('never forms an n-gram across the boundary between two texts', () => {
    // one bigram per text; joined they would add "b c"
    expect(ngrams(tokenize('a b'), 2)).toEqual(['a b']);
    expect(distinctN(['a b', 'c d'], 2)).toBe(1);
    expect(distinctN(['a b', 'a b'], 2)).toBe(1 / 2);
  });

  it('is 1 for text that never repeats and falls as text repeats itself', () => {
    expect(distinctN(['one two three four'], 1)).toBe(1);
    expect(distinctN(['yes yes yes yes'], 1)).toBe(1 / 4);
  });

  it('is 0 when there is no n-gram at all', () => {
    expect(distinctN([], 1)).toBe(0);
    expect(distinctN(['single'], 2)).toBe(0);
  });

  it('rejects an n-gram size that is not a positive whole number', () => {
    expect(() => distinctN(['a b'], 0)).toThrow(RangeError);
    expect(() => distinctN(['a b'], 1.5)).toThrow(RangeError);
  });
});
