/**
 * Small deterministic helpers for generated text: the same seed and input always give the same output,
 * so tests are reproducible, while different turns hash to different streams.
 */

/** FNV-1a over a string, folded into an existing hash so several inputs can be combined cheaply. */
export function hashString(input: string, hash = 0x811c9dc5): number {
  let h = hash >>> 0;
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Folds a number into a hash (for seeds and counts, without building strings). */
export function hashNumber(value: number, hash = 0x811c9dc5): number {
  let h = hash >>> 0;
  let v = Math.trunc(value) >>> 0;
  for (let i = 0; i < 4; i++) {
    h ^= v & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
    v >>>= 8;
  }
  return h;
}

/** mulberry32: tiny, fast and good enough to pick templates; returns floats in [0, 1). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)]!;
}
