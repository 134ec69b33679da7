import { deriveTopicId, type TopicMessage } from '../events.js';
import type { EventBus } from '../services/ports.js';

/** The key a topic message travels under: its id, so copies of one topic share a partition. */
export function topicMessageKey(message: TopicMessage): string {
  return message.id ?? deriveTopicId(message);
}

/**
 * Queues topic messages on the bus's input topic (Kafka: `config.kafka.topics.input`), as
 * `chimera topics add` does. The Redis queue has its own `enqueueTopic`.
 * @throws {InvalidEventError} when a message does not match the topic message schema; nothing is sent.
 */
export async function publishTopics(bus: Pick<EventBus, 'publish'>, messages: TopicMessage[]): Promise<void> {
  await bus.publish(
    'topics',
    messages.map((message) => ({ key: topicMessageKey(message), value: message })),
  );
}
