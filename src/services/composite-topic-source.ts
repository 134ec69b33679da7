import { setTimeout as sleep } from 'node:timers/promises';
import type { TopicDelivery, TopicSource } from './ports.js';

/**
 * Several topic sources as one (the in-process queue, the Kafka input topic, the Redis topic queue), taken
 * in turn so none starves. Each look is non-blocking; between empty rounds it waits a little, so a topic
 * on any source starts within `pollMs`.
 */
export class CompositeTopicSource implements TopicSource {
  private nextIndex = 0;
  private closed = false;

  constructor(
    private readonly sources: readonly TopicSource[],
    private readonly pollMs = 20,
  ) {}

  async next(waitMs: number): Promise<TopicDelivery | null> {
    if (this.sources.length === 1) return this.sources[0]!.next(waitMs);
    const deadline = Date.now() + waitMs;
    for (;;) {
      for (let i = 0; i < this.sources.length && !this.closed; i++) {
        const source = this.sources[(this.nextIndex + i) % this.sources.length]!;
        const delivery = await source.next(0);
        if (delivery) {
          this.nextIndex = (this.nextIndex + i + 1) % this.sources.length;
          return delivery;
        }
      }
      const left = deadline - Date.now();
      if (this.closed || left <= 0) return null;
      await sleep(Math.min(this.pollMs, left));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.sources.map((s) => s.close()));
  }
}
