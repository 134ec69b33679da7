import { describe, expect, it } from 'vitest';
import { DatasetWriter } from '../../../src/export/dataset-writer.js';
import { Deduplicator } from '../../../src/export/dedup/deduplicator.js';
import { bandingFor } from '../../../src/export/dedup/lsh.js';
import {
  estimatedJaccard,
  exactJaccard,
  MinHasher,
  shingleHashes,
} from '../../../src/export/dedup/minhash.js';
import { conversationWords } from '../../../src/export/dedup/text.js';
import { createRandom } from '../../../src/services/providers/simulated/random.js';
import { record, turn } from '../fixtures.js';

const VOCABULARY = Array.from({ length: 3000 }, (_, i) => `w${i.toString(36)}`);

function text(seed: number, words: number): string[] {
  const random = createRandom(seed);
  return Array.from({ length: words }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)]!);
}

/** `base` with about `share` of its words replaced. */
function edited(base: readonly string[], share: number, seed: number): string[] {
  const random = createRandom(seed);
  return base.map((w) => (random() < share ? VOCABULARY[Math.floor(random() * VOCABULARY.length)]! : w));
}

function conv(id: string, words: readonly string[]) {
  const half = Math.floor(words.length / 2);
  return record({
    conversationId: id,
    turns: [turn(0, words.slice(0, half).join(' ')), turn(1, words.slice(half).join(' '))],
  });
}

class Lines {
  readonly lines: string[] = [];
  async write(line: string) {
    this.lines.push(line);
  }
}

describe('near-duplicate removal', () => {
  it('folds case, punctuation and Unicode forms before comparing', () => {
    expect(conversationWords(conv('a', ['Hello,', 'WORLD!', 'ﬁne']))).toEqual(['hello', 'world', 'fine']);
  });

  it('MinHash estimates Jaccard similarity within a few hundredths', () => {
    const hasher = new MinHasher();
    for (const share of [0.02, 0.05, 0.1, 0.2, 0.4]) {
      const a = text(share * 1000, 400);
      const b = edited(a, share, 7);
      const [sa, sb] = [shingleHashes(a), shingleHashes(b)];
      const exact = exactJaccard(sa, sb);
      expect(Math.abs(estimatedJaccard(hasher.signature(sa), hasher.signature(sb)) - exact)).toBeLessThan(
        0.12,
      );
    }
  });

  it('bands 128 positions so the curve rises below the threshold', () => {
    for (const threshold of [0.5, 0.8, 0.9]) {
      const { bands, rows } = bandingFor(128, threshold);
      expect(bands * rows).toBe(128);
      // A pair exactly at the threshold becomes a candidate with probability above 0.99.
      expect(1 - (1 - threshold ** rows) ** bands).toBeGreaterThan(0.99);
    }
  });

  it('exact mode drops a copy differing only in case and punctuation, and keeps an edited one', () => {
    const dedup = new Deduplicator({ mode: 'exact' });
    const words = text(1, 200);
    const first = dedup.check(conv('a', words));
    expect(first.verdict.kind).toBe('unique');
    first.keep();
    const shouted = words.map((w, i) => (i % 10 === 0 ? `${w.toUpperCase()}!` : w));
    expect(dedup.check(conv('b', shouted)).verdict).toEqual({ kind: 'exact_duplicate', of: 'a' });
    expect(dedup.check(conv('c', edited(words, 0.03, 2))).verdict.kind).toBe('unique');
  });

  it('near mode drops a lightly edited copy, keeps unrelated text and heavy rewrites', () => {
    const dedup = new Deduplicator({ mode: 'near', threshold: 0.8 });
    const words = text(3, 300);
    dedup.check(conv('a', words)).keep();
    const light = edited(words, 0.01, 4); // ~1% of words: shingle Jaccard ~0.9
    const heavy = edited(words, 0.3, 5); // ~30%: shingle Jaccard well under 0.5
    const light_ = dedup.check(conv('light', light)).verdict;
    expect(light_.kind).toBe('near_duplicate');
    expect(dedup.check(conv('heavy', heavy)).verdict.kind).toBe('unique');
    expect(dedup.check(conv('other', text(99, 300))).verdict.kind).toBe('unique');
  });

  it('agrees with brute-force Jaccard on a sample: every pair above the threshold is caught', () => {
    const hasher = new MinHasher();
    const dedup = new Deduplicator({ mode: 'near', threshold: 0.8 });
    const originals = Array.from({ length: 40 }, (_, i) => text(1000 + i, 250));
    const sample: string[][] = [];
    for (const [i, base] of originals.entries()) {
      sample.push(base);
      sample.push(edited(base, [0.005, 0.01, 0.05, 0.2][i % 4]!, 2000 + i));
    }
    const shingles = sample.map((w) => shingleHashes(w));
    let truePairs = 0;
    let caught = 0;
    const keptIdx: number[] = [];
    for (const [i, words] of sample.entries()) {
      const isDup = keptIdx.some((k) => exactJaccard(shingles[k]!, shingles[i]!) >= 0.8);
      const candidate = dedup.check(conv(`c${i}`, words));
      if (isDup) {
        truePairs++;
        if (candidate.verdict.kind !== 'unique') caught++;
      }
      if (candidate.verdict.kind === 'unique') {
        candidate.keep();
        keptIdx.push(i);
      }
    }
    expect(truePairs).toBeGreaterThanOrEqual(15);
    expect(caught / truePairs).toBeGreaterThanOrEqual(0.95);
    expect(dedup.kept).toBe(keptIdx.length);
    expect(hasher.permutations).toBe(128);
  });

  it('the writer reports how many were dropped and why, and writes the first of each group', async () => {
    const sink = new Lines();
    const writer = new DatasetWriter(sink, { format: 'openai', dedup: { mode: 'near', threshold: 0.8 } });
    const words = text(5, 300);
    expect(await writer.add(conv('first', words))).toBe('written');
    expect(await writer.add(conv('same', [...words]))).toBe('exact_duplicate');
    expect(await writer.add(conv('close', edited(words, 0.01, 9)))).toBe('near_duplicate');
    expect(await writer.add(conv('fresh', text(6, 300)))).toBe('written');
    expect(sink.lines.map((l) => JSON.parse(l).id)).toEqual(['first', 'fresh']);
    expect(writer.summary()).toBe(
      'exported 2 conversations (0 skipped below min quality, 0 duplicates, 1 exact duplicates dropped, 1 near duplicates dropped (Jaccard >= 0.8))',
    );
  });

  it('a record left out for another reason is not kept as the original of later ones', async () => {
    const sink = new Lines();
    const writer = new DatasetWriter(sink, { format: 'openai', minQuality: 0.5, dedup: { mode: 'exact' } });
    const words = text(8, 100);
    const low = conv('low', words);
    low.quality = { ...low.quality, score: 0.1 };
    expect(await writer.add(low)).toBe('below_quality');
    expect(await writer.add(conv('good', words))).toBe('written');
  });
});
