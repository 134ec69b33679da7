import { createHash } from 'node:crypto';

/** Hex characters kept of a SHA-256 digest: 64 bits tell prompts and configs apart with room to spare. */
export const DIGEST_LENGTH = 16;

/** `sha256:` and the first {@link DIGEST_LENGTH} hex characters of the SHA-256 of `text` (UTF-8). */
export function digest(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex').slice(0, DIGEST_LENGTH)}`;
}

/**
 * JSON with object keys sorted at every depth, so the same value always gives the same text (and digest)
 * whatever order its keys were built in. `undefined` members are left out, as `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const inner = (value as Record<string, unknown>)[key];
      if (inner !== undefined) out[key] = sortKeys(inner);
    }
    return out;
  }
  return value;
}
