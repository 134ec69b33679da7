import { DEFAULTS } from '../defaults.js';
import type { Topic } from '../events.js';
import type { Logger } from '../logger.js';
import type { EventBus, TopicClaims } from '../services/ports.js';
import { type MessageOrigin, sendOversizeToDeadLetter, sendToDeadLetter, sha256Hex } from './dead-letter.js';
import { invalidReason } from './event-codec.js';
import type { IntakeFailureOptions } from './intake-guard.js';
import { parseTopic } from './parse-topic.js';

/** One message as a topic source read it, before validation. */
export interface RawTopicMessage {
  key: string | null;
  value: Buffer;
  /** Where it was read from, for the dead-letter headers. */
  from: MessageOrigin;
  /** Identifies this message at its source: equal for its redeliveries, different for any other message. */
  origin: string;
}

/** What every topic source needs to admit a message. */
export interface IntakeOptions {
  /** Where invalid messages go (`publishRaw('deadLetter', ...)`). */
  bus: Pick<EventBus, 'publishRaw'>;
  claims: TopicClaims;
  /** `config.conversation.topicMaxLength`. */
  maxTitleLength: number;
  /**
   * Largest message, in bytes as read, that is decoded at all (`config.conversation.topicMaxMessageBytes`).
   * @default DEFAULTS.MAX_TOPIC_MESSAGE_BYTES (64 KiB)
   */
  maxMessageBytes?: number;
  logger: Logger;
  /**
   * What happens when admitting a message fails (see `IntakeGuard`).
   * @default parked in this process only (the newest DEFAULT_PARKED_MAX_LENGTH), after DEFAULTS.INTAKE_MAX_ATTEMPTS failures
   */
  failures?: IntakeFailureOptions;
}

export type Admission =
  | { kind: 'topic'; topic: Topic }
  | { kind: 'dead-lettered'; reason: string }
  | { kind: 'duplicate'; topicId: string };

/**
 * The one intake decision every source makes: invalid -> dead letter (original bytes), an id already
 * claimed -> duplicate (logged, not dead-lettered), otherwise a topic to deliver. For `dead-lettered`
 * and `duplicate` the caller acknowledges the raw message and goes on with the next one.
 * @throws whatever the dead-letter publish or the claim store throws; the caller gives the message back.
 */
export async function admit(message: RawTopicMessage, options: IntakeOptions): Promise<Admission> {
  const maxBytes = options.maxMessageBytes ?? DEFAULTS.MAX_TOPIC_MESSAGE_BYTES;
  // Before any decoding: every later step (UTF-8, JSON, schema, title checks) works on at most this much.
  if (message.value.length > maxBytes) return deadLetterOversize(message, maxBytes, options);
  const parsed = parseTopic(message.value, options.maxTitleLength);
  if (!parsed.ok) {
    await sendToDeadLetter(options.bus, message, parsed.reason, message.from);
    options.logger.warn(
      { reason: parsed.reason, from: message.from, bytes: message.value.length },
      'topic message dead-lettered',
    );
    return { kind: 'dead-lettered', reason: parsed.reason };
  }
  const { topic } = parsed;
  if (!(await options.claims.claim(topic.id, message.origin))) {
    options.logger.info({ topicId: topic.id, from: message.from }, 'duplicate topic skipped');
    return { kind: 'duplicate', topicId: topic.id };
  }
  return { kind: 'topic', topic };
}

async function deadLetterOversize(
  message: RawTopicMessage,
  maxBytes: number,
  options: IntakeOptions,
): Promise<Admission> {
  const bytes = message.value.length;
  const reason = invalidReason('oversize_message', `${bytes} bytes, more than the ${maxBytes} allowed`);
  const sha256 = await sha256Hex(message.value);
  await sendOversizeToDeadLetter(options.bus, message, reason, message.from, sha256);
  options.logger.warn({ reason, from: message.from, bytes, sha256 }, 'topic message dead-lettered');
  return { kind: 'dead-lettered', reason };
}
