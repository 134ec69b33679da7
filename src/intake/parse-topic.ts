import { deriveTopicId } from '../events.js';
import type { Topic } from '../services/ports.js';
import { decodeEvent } from './event-codec.js';
import { checkTopicTitle } from './topic-title.js';

export type ParsedTopic = { ok: true; topic: Topic } | { ok: false; reason: string };

/**
 * Raw intake bytes -> a `Topic`: JSON, the topic message schema, then the title checks. A message
 * without an id gets one derived from its content, so the same topic sent twice has one id.
 */
export function parseTopic(raw: Buffer | null, maxTitleLength: number): ParsedTopic {
  const decoded = decodeEvent('topics', raw);
  if (!decoded.ok) return decoded;
  const message = decoded.value;
  const titleProblem = checkTopicTitle(message.title, maxTitleLength);
  if (titleProblem) return { ok: false, reason: titleProblem };
  const topic: Topic = { id: message.id ?? deriveTopicId(message), title: message.title.trim() };
  if (message.source !== undefined) topic.source = message.source;
  if (message.url !== undefined) topic.url = message.url;
  return { ok: true, topic };
}
