import { EVENT_HEADERS } from '../events.js';
import type { EventBus } from '../services/ports.js';

/** Where a message was read from; partition and offset only exist for partitioned logs. */
export interface MessageOrigin {
  /** Physical topic name, or the Redis key of the queue. */
  topic: string;
  partition?: number;
  offset?: string;
}

export function deadLetterHeaders(reason: string, origin: MessageOrigin): Record<string, string> {
  const headers: Record<string, string> = {
    [EVENT_HEADERS.deadLetterReason]: reason,
    [EVENT_HEADERS.deadLetterTopic]: origin.topic,
  };
  if (origin.partition !== undefined) headers[EVENT_HEADERS.deadLetterPartition] = String(origin.partition);
  if (origin.offset !== undefined) headers[EVENT_HEADERS.deadLetterOffset] = origin.offset;
  return headers;
}

/**
 * Sends the original bytes, unchanged, to the dead-letter topic with why and where from in headers, so a
 * person can fix and replay them. Resolves once the bus acknowledged the write.
 */
export async function sendToDeadLetter(
  bus: Pick<EventBus, 'publishRaw'>,
  message: { key: string | null; value: Buffer },
  reason: string,
  origin: MessageOrigin,
): Promise<void> {
  await bus.publishRaw('deadLetter', [
    { key: message.key, value: message.value, headers: deadLetterHeaders(reason, origin) },
  ]);
}

/**
 * How much of an oversize message travels to the dead-letter topic: enough to recognise the producer and the
 * message, while the size and hash identify it exactly.
 */
export const OVERSIZE_PREFIX_BYTES = 200;

/** Hex sha256 of `bytes`, computed off the event loop (a 50 MB message takes a noticeable while to hash). */
export async function sha256Hex(bytes: Buffer): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Buffer.from(digest).toString('hex');
}

/**
 * Dead-letters a message over the byte cap without reading it: its first {@link OVERSIZE_PREFIX_BYTES}
 * bytes as the value, its size and sha256 in headers. Resolves once the bus acknowledged the write.
 */
export async function sendOversizeToDeadLetter(
  bus: Pick<EventBus, 'publishRaw'>,
  message: { key: string | null; value: Buffer },
  reason: string,
  origin: MessageOrigin,
  sha256: string,
): Promise<void> {
  const headers = deadLetterHeaders(reason, origin);
  headers[EVENT_HEADERS.deadLetterSize] = String(message.value.length);
  headers[EVENT_HEADERS.deadLetterSha256] = sha256;
  await bus.publishRaw('deadLetter', [
    {
      key: message.key,
      value: Buffer.from(message.value.subarray(0, OVERSIZE_PREFIX_BYTES)),
      headers,
    },
  ]);
}
