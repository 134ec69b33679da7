import type { z } from 'zod';
import { InvalidEventError } from '../errors.js';
import { type EventTopics, eventTopicSchemas } from '../events.js';
import { MAX_QUOTED_INPUT } from '../provenance/topic-metadata.js';
import type { SubscribeOptions } from '../services/ports.js';

/**
 * Bytes <-> typed payloads for every event bus adapter, so the in-memory bus and the Kafka bus accept
 * and refuse exactly the same messages. Values travel as UTF-8 JSON.
 */

/** Why a message was refused: the code leads the reason text, so consumers can branch on it. */
export type InvalidReasonCode =
  | 'empty_message'
  | 'oversize_message'
  | 'malformed_json'
  | 'invalid_payload'
  | 'invalid_title';

export type Decoded<V> = { ok: true; value: V } | { ok: false; reason: string };

/**
 * Reasons end up in headers and logs. The parts of them taken from the input are short excerpts already
 * (JSON.parse quotes about ten characters, key paths at most 60: `MAX_QUOTED_INPUT`); this bounds the whole.
 */
const MAX_DETAIL_LENGTH = 200;

export function invalidReason(code: InvalidReasonCode, detail: string): string {
  const bounded = detail.length > MAX_DETAIL_LENGTH ? `${detail.slice(0, MAX_DETAIL_LENGTH)}...` : detail;
  return `${code}: ${bounded}`;
}

/** The code a reason built by {@link invalidReason} starts with. */
export function reasonCode(reason: string): InvalidReasonCode {
  return reason.slice(0, reason.indexOf(':')) as InvalidReasonCode;
}

/** A path into the input as a reason quotes it: at most `MAX_QUOTED_INPUT` characters of it. */
function quotedPath(path: readonly PropertyKey[]): string {
  const joined = path.map(String).join('.');
  return joined.length > MAX_QUOTED_INPUT ? `${joined.slice(0, MAX_QUOTED_INPUT)}...` : joined;
}

/** The first few issues as `path: message`, without echoing the offending values. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? quotedPath(issue.path) : '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Validates `value` against the topic's schema and encodes it.
 * @throws {InvalidEventError} when the payload does not match; nothing is encoded.
 */
export function encodeEvent<K extends keyof EventTopics>(topic: K, value: EventTopics[K]): Buffer {
  const parsed = eventTopicSchemas[topic].safeParse(value);
  if (!parsed.success) throw new InvalidEventError(topic, describeIssues(parsed.error));
  return Buffer.from(JSON.stringify(parsed.data), 'utf8');
}

/**
 * JSON exchanged between systems is UTF-8 (RFC 8259). Other bytes are refused rather than decoded with
 * U+FFFD in their place, which would start a conversation on a title the producer never sent. The BOM is
 * kept, so a BOM-prefixed message stays malformed as before.
 */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parses and validates bytes from the wire; never throws. */
export function decodeEvent<K extends keyof EventTopics>(
  topic: K,
  raw: Buffer | null,
): Decoded<EventTopics[K]> {
  if (raw === null || raw.length === 0)
    return { ok: false, reason: invalidReason('empty_message', 'no value') };
  let text: string;
  try {
    text = strictUtf8.decode(raw);
  } catch {
    return { ok: false, reason: invalidReason('malformed_json', 'the bytes are not valid UTF-8') };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: invalidReason('malformed_json', (error as Error).message) };
  }
  const parsed = eventTopicSchemas[topic].safeParse(json);
  if (!parsed.success)
    return { ok: false, reason: invalidReason('invalid_payload', describeIssues(parsed.error)) };
  return { ok: true, value: parsed.data };
}

/** One stored message as an event bus read it back, before it is decoded. */
export interface StoredEvent {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Decodes a stored message and hands it to the subscriber: `onMessage` with the validated value, or
 * `onInvalid` with the raw bytes and the reason (the in-memory and Redis-stream buses share this).
 */
export async function deliverStoredEvent<K extends keyof EventTopics>(
  topic: K,
  stored: StoredEvent,
  options: Pick<SubscribeOptions<EventTopics[K]>, 'onMessage' | 'onInvalid'>,
): Promise<void> {
  const common = { topic, partition: stored.partition, offset: stored.offset };
  const decoded = decodeEvent(topic, stored.value);
  if (decoded.ok) {
    await options.onMessage({
      ...common,
      key: stored.key ?? '',
      value: decoded.value,
      headers: { ...stored.headers },
    });
  } else {
    await options.onInvalid({
      ...common,
      key: stored.key,
      raw: Buffer.from(stored.value),
      reason: decoded.reason,
    });
  }
}
