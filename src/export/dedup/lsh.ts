/**
 * Locality-sensitive hashing over MinHash signatures: the signature is cut into `bands` of `rows`
 * positions, and two signatures become candidates when any band is equal. A pair of Jaccard `s` becomes a
 * candidate with probability 1 − (1 − s^rows)^bands, an S-curve that rises around (1/bands)^(1/rows);
 * candidates are then checked against the threshold on the whole signature. The index holds the kept
 * signatures only, so memory grows with what is kept, never with what is read.
 */
import { mix32 } from '../../prompts/permutation.js';
import { estimatedJaccard } from './minhash.js';

export interface Banding {
  bands: number;
  rows: number;
}

/**
 * The banding for `permutations` and `threshold`: the most rows (fewest false candidates) whose curve
 * still rises at least 0.1 below the threshold, so pairs at the threshold are found with probability
 * above 0.99 (for 128 positions and 0.8: 32 bands of 4 rows, curve at 0.42; 16 bands of 8 rows would find
 * a pair at exactly 0.8 only 95% of the time). More candidates cost a 128-position comparison each.
 */
export function bandingFor(permutations: number, threshold: number): Banding {
  let best: Banding = { bands: permutations, rows: 1 };
  for (let rows = 1; rows <= permutations; rows++) {
    if (permutations % rows !== 0) continue;
    const bands = permutations / rows;
    if ((1 / bands) ** (1 / rows) <= threshold - 0.1) best = { bands, rows };
  }
  return best;
}

export interface NearMatch<Id> {
  id: Id;
  similarity: number;
}

export class LshIndex<Id> {
  private readonly buckets: Array<Map<number, number[]>>;
  private readonly signatures: Uint32Array[] = [];
  private readonly ids: Id[] = [];

  constructor(
    private readonly banding: Banding,
    private readonly threshold: number,
  ) {
    this.buckets = Array.from({ length: banding.bands }, () => new Map<number, number[]>());
  }

  get size(): number {
    return this.ids.length;
  }

  private bandKey(signature: Uint32Array, band: number): number {
    let h = 0x9e3779b9 ^ band;
    const start = band * this.banding.rows;
    for (let i = start; i < start + this.banding.rows; i++) h = mix32((h ^ signature[i]!) >>> 0);
    return h;
  }

  /** The most similar kept signature at or above the threshold, if any. */
  query(signature: Uint32Array): NearMatch<Id> | undefined {
    const checked = new Set<number>();
    let best: NearMatch<Id> | undefined;
    for (let band = 0; band < this.banding.bands; band++) {
      for (const slot of this.buckets[band]!.get(this.bandKey(signature, band)) ?? []) {
        if (checked.has(slot)) continue;
        checked.add(slot);
        const similarity = estimatedJaccard(signature, this.signatures[slot]!);
        if (similarity >= this.threshold && (best === undefined || similarity > best.similarity)) {
          best = { id: this.ids[slot]!, similarity };
        }
      }
    }
    return best;
  }

  add(id: Id, signature: Uint32Array): void {
    const slot = this.ids.length;
    this.ids.push(id);
    this.signatures.push(signature);
    for (let band = 0; band < this.banding.bands; band++) {
      const key = this.bandKey(signature, band);
      const bucket = this.buckets[band]!;
      const list = bucket.get(key);
      if (list) list.push(slot);
      else bucket.set(key, [slot]);
    }
  }
}
