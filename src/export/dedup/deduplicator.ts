/**
 * Streaming duplicate removal for `export --dedup`: each record is compared with the records kept before
 * it, and the first of a group of duplicates is the one kept.
 *
 * - `exact`: the same words (see {@link conversationWords}: case, punctuation and Unicode forms folded).
 *   Memory: one 16-byte digest per kept record.
 * - `near`: exact first, then MinHash over five-word shingles with LSH banding; a record whose estimated
 *   Jaccard similarity with a kept one is at least `threshold` is dropped. Memory: the digest plus a
 *   128-position signature (512 bytes) and its band keys per kept record.
 *
 * Nothing about dropped records is kept, so memory is bounded by the number of kept records.
 */
import { createHash } from 'node:crypto';
import type { ConversationRecord } from '../../events.js';
import { bandingFor, LshIndex } from './lsh.js';
import { DEFAULT_PERMUTATIONS, DEFAULT_SHINGLE_SIZE, MinHasher, shingleHashes } from './minhash.js';
import { conversationWords } from './text.js';

export const DEDUP_MODES = ['exact', 'near'] as const;
export type DedupMode = (typeof DEDUP_MODES)[number];

/** Jaccard similarity of five-word shingles at which two conversations count as near duplicates. */
export const DEFAULT_NEAR_THRESHOLD = 0.8;

export interface DedupOptions {
  mode: DedupMode;
  /** @default DEFAULT_NEAR_THRESHOLD */
  threshold?: number;
  /** @default DEFAULT_PERMUTATIONS */
  permutations?: number;
  /** @default DEFAULT_SHINGLE_SIZE */
  shingleSize?: number;
}

export type DedupVerdict =
  | { kind: 'unique' }
  | { kind: 'exact_duplicate'; of: string }
  | { kind: 'near_duplicate'; of: string; similarity: number };

/** A record judged unique, ready to be kept once it is actually written. */
export interface DedupCandidate {
  verdict: DedupVerdict;
  /** Adds the record to the index of kept records (call it only for records that are written). */
  keep(): void;
}

export class Deduplicator {
  private readonly exact = new Map<string, string>();
  private readonly hasher: MinHasher | undefined;
  private readonly index: LshIndex<string> | undefined;
  private readonly shingleSize: number;
  readonly threshold: number;

  constructor(readonly options: DedupOptions) {
    this.threshold = options.threshold ?? DEFAULT_NEAR_THRESHOLD;
    if (!(this.threshold > 0 && this.threshold <= 1)) {
      throw new RangeError(`threshold must be above 0 and at most 1 (got ${this.threshold})`);
    }
    this.shingleSize = options.shingleSize ?? DEFAULT_SHINGLE_SIZE;
    if (options.mode === 'near') {
      const permutations = options.permutations ?? DEFAULT_PERMUTATIONS;
      this.hasher = new MinHasher(permutations);
      this.index = new LshIndex(bandingFor(permutations, this.threshold), this.threshold);
    }
  }

  /** Records kept so far (each one's digest, and for `near` its signature, is held). */
  get kept(): number {
    return this.exact.size;
  }

  check(record: Pick<ConversationRecord, 'conversationId' | 'turns'>): DedupCandidate {
    const words = conversationWords(record);
    const digest = createHash('sha256').update(words.join(' ')).digest('base64').slice(0, 22);
    const same = this.exact.get(digest);
    if (same !== undefined) return { verdict: { kind: 'exact_duplicate', of: same }, keep: () => {} };
    let signature: Uint32Array | undefined;
    if (this.hasher && this.index) {
      signature = this.hasher.signature(shingleHashes(words, this.shingleSize));
      const match = this.index.query(signature);
      if (match) {
        return {
          verdict: { kind: 'near_duplicate', of: match.id, similarity: match.similarity },
          keep: () => {},
        };
      }
    }
    return {
      verdict: { kind: 'unique' },
      keep: () => {
        this.exact.set(digest, record.conversationId);
        if (signature && this.index) this.index.add(record.conversationId, signature);
      },
    };
  }
}
