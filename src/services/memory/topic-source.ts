import type { TopicMessage } from '../../events.js';
import type { IntakeOptions, RawTopicMessage } from '../../intake/admit.js';
import { settleOnce } from '../../intake/delivery.js';
import { type GuardedAdmission, IntakeGuard } from '../../intake/intake-guard.js';
import { PullBuffer } from '../../intake/pull-buffer.js';
import { type Clock, systemClock, type TopicDelivery, type TopicSource } from '../ports.js';
import { defaultIntakeFailures } from './parked-messages.js';

export interface InMemoryTopicSourceOptions extends IntakeOptions {
  /** @default systemClock */
  clock?: Clock;
  /**
   * The name dead letters give as the topic they came from.
   * @default 'memory'
   */
  name?: string;
}

/**
 * The embedded topic source: topics pushed in-process (the CLI, tests) go through the same validation,
 * dead-lettering and de-duplication as the Kafka and Redis sources.
 */
export class InMemoryTopicSource implements TopicSource {
  private readonly buffer = new PullBuffer<RawTopicMessage>();
  private readonly clock: Clock;
  private readonly name: string;
  private readonly guard: IntakeGuard;
  private offset = 0;
  private closed = false;

  constructor(private readonly options: InMemoryTopicSourceOptions) {
    this.clock = options.clock ?? systemClock;
    this.name = options.name ?? 'memory';
    this.guard = new IntakeGuard(this.name, {
      ...options,
      clock: this.clock,
      failures: options.failures ?? defaultIntakeFailures(),
    });
  }

  /** Queues a topic message: an object is JSON-encoded, a string or bytes are taken as they are. */
  /** Topics pushed and not taken in yet (intake holds them while the spending cap is reached, for example). */
  get waiting(): number {
    return this.buffer.size;
  }

  push(message: TopicMessage | string | Buffer, key: string | null = null): void {
    if (this.closed) return;
    const value = Buffer.isBuffer(message)
      ? message
      : Buffer.from(typeof message === 'string' ? message : JSON.stringify(message), 'utf8');
    const offset = String(this.offset++);
    this.buffer.push({
      key,
      value,
      from: { topic: this.name, partition: 0, offset },
      origin: `${this.name}:${offset}`,
    });
  }

  async next(waitMs: number): Promise<TopicDelivery | null> {
    const deadline = this.clock.now() + waitMs;
    for (;;) {
      if (this.closed) return null;
      if (!(await this.guard.waitOut(deadline))) return null;
      const raw = await this.buffer.take(Math.max(0, deadline - this.clock.now()));
      if (!raw) return null;
      let admission: GuardedAdmission;
      try {
        admission = await this.guard.admit(raw);
      } catch (error) {
        this.buffer.unshift(raw);
        throw error;
      }
      if (admission.kind === 'topic') {
        return settleOnce(admission.topic, this.options.claims, {
          ack: async () => {},
          release: async () => this.buffer.unshift(raw),
        });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.buffer.close();
  }
}
