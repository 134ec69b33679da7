import { type Clock, systemClock, type TopicDelivery, type TopicSource } from './ports.js';

export interface CompositeTopicSourceOptions {
  /**
   * Pause between rounds that found nothing on any source.
   * @default 20
   */
  pollMs?: number;
  /** Measures the wait of `next`. @default the system clock */
  clock?: Clock;
}

/**
 * Several topic sources as one (the in-process queue, the Kafka input topic, the Redis topic queue), taken
 * in turn so none starves. Each look is non-blocking; between empty rounds it waits a little, so a topic
 * on any source starts within `pollMs`.
 */
export class CompositeTopicSource implements TopicSource {
  private nextIndex = 0;
  private closed = false;
  private readonly pollMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly sources: readonly TopicSource[],
    options: CompositeTopicSourceOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 20;
    this.clock = options.clock ?? systemClock;
  }

  async next(waitMs: number): Promise<TopicDelivery | null> {
    if (this.sources.length === 1) return this.sources[0]!.next(waitMs);
    const deadline = this.clock.now() + waitMs;
    for (;;) {
      for (let i = 0; i < this.sources.length && !this.closed; i++) {
        const source = this.sources[(this.nextIndex + i) % this.sources.length]!;
        const delivery = await source.next(0);
        if (delivery) {
          this.nextIndex = (this.nextIndex + i + 1) % this.sources.length;
          return delivery;
        }
      }
      const left = deadline - this.clock.now();
      if (this.closed || left <= 0) return null;
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.pollMs, left)));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.sources.map((s) => s.close()));
  }
}
