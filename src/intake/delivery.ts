import type { Topic } from '../events.js';
import type { TopicClaims, TopicDelivery } from '../services/ports.js';

/**
 * A delivery that settles once: the first `ack` or `release` wins and later calls do nothing, so a
 * shutdown path that releases everything cannot undo an ack that already happened.
 * `ack` completes the claim before the source forgets the message: a crash in between leads to a
 * redelivery that is then skipped as a duplicate, never to a lost topic.
 */
export function settleOnce(
  topic: Topic,
  claims: TopicClaims,
  source: { ack(): Promise<void>; release(): Promise<void> },
): TopicDelivery {
  let settled = false;
  return {
    topic,
    async ack() {
      if (settled) return;
      settled = true;
      await claims.complete(topic.id);
      await source.ack();
    },
    async release() {
      if (settled) return;
      settled = true;
      await source.release();
    },
  };
}
