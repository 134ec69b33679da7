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
 * on any source starts within `pollMs`. A source that throws (its head message could not be admitted) is
 * passed over for the rest of the round and tried last in the next one; the error is thrown only when no
 * other source had a topic, so a failing source never holds up the others.
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
      let failure: { error: unknown } | undefined;
      const first = this.nextIndex;
      for (let i = 0; i < this.sources.length && !this.closed; i++) {
        const index = (first + i) % this.sources.length;
        let delivery: TopicDelivery | null;
        try {
          delivery = await this.sources[index]!.next(0);
        } catch (error) {
          failure ??= { error };
          this.nextIndex = (index + 1) % this.sources.length;
          continue;
        }
        if (delivery) {
          this.nextIndex = (index + 1) % this.sources.length;
          return delivery;
        }
      }
      if (failure) throw failure.error;
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
