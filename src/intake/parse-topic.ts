import type { Topic } from '../events.js';
import { deriveTopicId } from '../events.js';
import { validateTopicTitle } from '../prompts/topic-title.js';
import { decodeEvent, invalidReason } from './event-codec.js';

export type ParsedTopic = { ok: true; topic: Topic } | { ok: false; reason: string };

/**
 * Raw intake bytes -> a `Topic`: JSON, the topic message schema, then the checks every title passes before
 * it reaches a prompt (`validateTopicTitle`). A message without an id gets one derived from its content,
 * so the same topic sent twice has one id.
 */
export function parseTopic(raw: Buffer | null, maxTitleLength: number): ParsedTopic {
  const decoded = decodeEvent('topics', raw);
  if (!decoded.ok) return decoded;
  const message = decoded.value;
  const title = validateTopicTitle(message.title, maxTitleLength);
  if (!title.ok) return { ok: false, reason: invalidReason('invalid_title', title.reason) };
  // The id derives from the message as sent; the title is the validated (trimmed, NFC) one.
  const topic: Topic = { id: message.id ?? deriveTopicId(message), title: title.title };
  if (message.source !== undefined) topic.source = message.source;
  if (message.url !== undefined) topic.url = message.url;
  if (message.metadata !== undefined) topic.metadata = message.metadata;
  return { ok: true, topic };
}

/**
 * Why the intake would dead-letter `topic` given in-process (its size as JSON, the schema, the title), or
 * null when it would take it: the in-process entry points refuse such a topic at once instead.
 */
export function topicRefusal(topic: unknown, limits: TopicLimits): string | null {
  const bytes = Buffer.from(JSON.stringify(topic) ?? 'null');
  const oversize = oversizeReason(bytes.length, limits);
  if (oversize) return oversize;
  const parsed = parseTopic(bytes, limits.topicMaxLength);
  return parsed.ok ? null : parsed.reason;
}

/** The sizes the intake checks (`TOPIC_MAX_LENGTH`, `MAX_TOPIC_MESSAGE_BYTES`). */
export interface TopicLimits {
  topicMaxLength: number;
  topicMaxMessageBytes: number;
}

/** The intake's reason for a message of `bytes` bytes, or null when it is within the limit. */
export function oversizeReason(
  bytes: number,
  limits: Pick<TopicLimits, 'topicMaxMessageBytes'>,
): string | null {
  return bytes > limits.topicMaxMessageBytes
    ? invalidReason(
        'oversize_message',
        `${bytes} bytes, more than the ${limits.topicMaxMessageBytes} allowed`,
      )
    : null;
}
