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
