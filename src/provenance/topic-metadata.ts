/**
 * A topic message's fields beyond `id/title/source/url` (the data-ingestion service may send a language,
 * tags, a score, a feed name) are kept as `topic.metadata` and carried into the record, within bounds:
 * at most {@link TOPIC_METADATA_LIMITS}.maxKeys fields, nested at most `maxDepth` deep, `maxBytes` of JSON
 * in all. The bounds are checked by a walk that stops at the first excess, before anything is copied, so
 * a hostile message costs no more than the bound to refuse.
 *
 * An explicit `metadata` object in the message is merged in (its fields first), so a message that already
 * went through this (re-published by Chimera's own CLI) reads back the same.
 */
import { TOPIC_METADATA_LIMITS } from './schema.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type MetadataResult =
  | { ok: true; metadata?: Record<string, JsonValue> }
  | { ok: false; reason: string };

/** Keys that would reach an object's prototype in some consumer: never accepted. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

interface Budget {
  bytes: number;
}

/** Most characters of the input (a key path) a reason quotes: enough to find the field, never a payload. */
export const MAX_QUOTED_INPUT = 60;

/** `path` as a reason quotes it: its start, with `...` when cut. */
function quoted(path: string): string {
  return path.length > MAX_QUOTED_INPUT ? `${path.slice(0, MAX_QUOTED_INPUT)}...` : path;
}

/** Checks `value` against the bounds, charging its JSON size to `budget`; the reason of the first excess. */
function check(value: unknown, depth: number, path: string, budget: Budget): string | undefined {
  const { maxDepth, maxBytes } = TOPIC_METADATA_LIMITS;
  const charge = (n: number) => {
    budget.bytes += n;
    return budget.bytes > maxBytes ? `metadata is more than ${maxBytes} bytes of JSON` : undefined;
  };
  if (value === null || typeof value === 'boolean') return charge(5);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `${quoted(path)} is not a finite number`;
    return charge(24);
  }
  if (typeof value === 'string') return charge(value.length * 3 + 2); // UTF-8 upper bound: no encoding needed
  if (typeof value !== 'object') return `${quoted(path)} is not a JSON value`;
  if (depth >= maxDepth) return `${quoted(path)} is nested more than ${maxDepth} levels deep`;
  if (Array.isArray(value)) {
    const over = charge(2);
    if (over) return over;
    for (let i = 0; i < value.length; i++) {
      const reason = check(value[i], depth + 1, `${path}[${i}]`, budget) ?? charge(1);
      if (reason) return reason;
    }
    return undefined;
  }
  const over = charge(2);
  if (over) return over;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return `${quoted(`${path}.${key}`)} is a reserved key`;
    const reason =
      charge(key.length * 3 + 4) ??
      check((value as Record<string, unknown>)[key], depth + 1, `${path}.${key}`, budget);
    if (reason) return reason;
  }
  return undefined;
}

/**
 * The metadata of a topic message's extra fields, or why they are refused.
 * @param extra the message's fields other than `id`, `title`, `source` and `url`.
 */
export function extractMetadata(extra: Readonly<Record<string, unknown>>): MetadataResult {
  const { maxKeys } = TOPIC_METADATA_LIMITS;
  const explicit = extra.metadata;
  if (
    explicit !== undefined &&
    (explicit === null || typeof explicit !== 'object' || Array.isArray(explicit))
  ) {
    return { ok: false, reason: 'metadata must be an object' };
  }
  const fields: Array<[string, unknown]> = [];
  for (const key of Object.keys(explicit ?? {}))
    fields.push([key, (explicit as Record<string, unknown>)[key]]);
  for (const key of Object.keys(extra)) if (key !== 'metadata') fields.push([key, extra[key]]);
  if (fields.length === 0) return { ok: true };
  if (fields.length > maxKeys) return { ok: false, reason: `more than ${maxKeys} metadata fields` };
  const budget: Budget = { bytes: 2 };
  for (const [key, value] of fields) {
    if (FORBIDDEN_KEYS.has(key)) return { ok: false, reason: `${quoted(key)} is a reserved key` };
    const reason = check(value, 0, key, budget);
    if (reason) return { ok: false, reason };
  }
  // Only now, within bounds, is anything copied (a plain JSON copy: no prototype, no shared references).
  const metadata = Object.create(null) as Record<string, JsonValue>;
  for (const [key, value] of fields) metadata[key] = JSON.parse(JSON.stringify(value)) as JsonValue;
  return { ok: true, metadata: { ...metadata } };
}
