/**
 * A keyed pseudo-random permutation of `0..size-1` (a small Feistel network with cycle-walking): every
 * index maps to a different value, so the first `size` indexes visit every value exactly once, in an order
 * that looks random and depends on the key. Pure integer arithmetic: the same key gives the same order on
 * every machine.
 */

/** Feistel rounds: four make the output of consecutive indexes look independent. */
const ROUNDS = 4;

/** murmur3's 32-bit finaliser: a cheap full-avalanche mix. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The value `index` maps to in the permutation of `0..size-1` chosen by `key`.
 * @throws {RangeError} when `size` is not a whole number from 1 to 2^30, or `index` is outside `0..size-1`.
 */
export function permute(index: number, size: number, key: number): number {
  if (!Number.isInteger(size) || size < 1 || size > 2 ** 30) {
    throw new RangeError(`permutation size must be a whole number from 1 to 2^30 (got ${size})`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`index must be a whole number from 0 to ${size - 1} (got ${index})`);
  }
  if (size === 1) return 0;
  const bits = Math.max(2, Math.ceil(Math.log2(size)));
  const half = Math.ceil(bits / 2);
  const mask = (1 << half) - 1;
  let value = index;
  // Cycle-walking: the network permutes 0..4^half-1; values past the end are fed back in until one lands
  // inside. The domain is less than four times `size`, so this takes a few steps at most on average.
  do {
    let left = value >>> half;
    let right = value & mask;
    for (let round = 0; round < ROUNDS; round++) {
      const f = mix32((right ^ mix32(key + round * 0x9e3779b9)) >>> 0) & mask;
      [left, right] = [right, (left ^ f) & mask];
    }
    value = ((left << half) | right) >>> 0;
  } while (value >= size);
  return value;
}
