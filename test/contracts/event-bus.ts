import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isInvalidEventError } from '../../src/errors.js';
import type { ConversationEvent, EventTopics } from '../../src/events.js';
import type { EventBus, InvalidMessage, ReceivedMessage, Subscription } from '../../src/services/ports.js';

/** What one adapter gives the contract for one test: a fresh bus on fresh topics. */
export interface EventBusHarness {
  bus: EventBus;
  /** How long to wait for a delivery: a Kafka group join takes seconds. */
  waitMs: number;
  cleanup(): Promise<void>;
}

/** Polls `condition` until it holds; fails with `what` when `timeoutMs` passes first. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function startedEvent(conversationId: string, sequence: number): ConversationEvent {
  return {
    type: 'conversation.started',
    eventId: `${conversationId}:${sequence}`,
    conversationId,
    occurredAt: sequence,
    topic: { id: 'topic-1', title: 'Why the sea is salty' },
    providers: { questioner: 'simulated', answerer: 'simulated' },
  };
}

interface Collector {
  messages: ReceivedMessage<EventTopics['events']>[];
  invalid: InvalidMessage[];
  subscription: Subscription;
}

async function collect(
  bus: EventBus,
  groupId: string,
  options: { failFirst?: number } = {},
): Promise<Collector> {
  const messages: Collector['messages'] = [];
  const invalid: InvalidMessage[] = [];
  let failures = options.failFirst ?? 0;
  const subscription = await bus.subscribe('events', {
    groupId,
    fromBeginning: true,
    onMessage: async (message) => {
      messages.push(message);
      if (failures > 0) {
        failures -= 1;
        throw new Error('handler failed on purpose');
      }
    },
    onInvalid: async (message) => {
      invalid.push(message);
    },
  });
  return { messages, invalid, subscription };
}

const eventIds = (messages: ReceivedMessage<ConversationEvent>[]) => messages.map((m) => m.value.eventId);

/** The behaviour every `EventBus` adapter shares; run once per adapter. */
export function eventBusContract(name: string, create: () => Promise<EventBusHarness>): void {
  describe(`EventBus contract: ${name}`, () => {
    let harness: EventBusHarness;
    let bus: EventBus;
    const group = () => `g-${randomUUID()}`;

    beforeEach(async () => {
      harness = await create();
      bus = harness.bus;
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it('a published event reaches a consumer group with its key, headers and value', async () => {
      const consumer = await collect(bus, group());
      const event = startedEvent('c-1', 1);
      await bus.publish('events', [{ key: 'c-1', value: event, headers: { 'chimera-event-id': 'c-1:1' } }]);

      await waitFor(() => consumer.messages.length === 1, harness.waitMs, 'the event');
      const [received] = consumer.messages;
      expect(received?.value).toEqual(event);
      expect(received?.key).toBe('c-1');
      expect(received?.headers).toMatchObject({ 'chimera-event-id': 'c-1:1' });
      expect(received?.offset).toMatch(/^\d+$/);
      expect(consumer.invalid).toEqual([]);
    });

    it('events with the same key arrive in the order they were published', async () => {
      const consumer = await collect(bus, group());
      const keys = ['c-a', 'c-b', 'c-c'];
      for (let batch = 0; batch < 4; batch += 1) {
        const messages = [];
        for (let i = 0; i < 5; i += 1) {
          for (const key of keys) messages.push({ key, value: startedEvent(key, batch * 5 + i) });
        }
        await bus.publish('events', messages);
      }

      await waitFor(() => consumer.messages.length === 60, harness.waitMs, '60 events');
      for (const key of keys) {
        const sequences = consumer.messages.filter((m) => m.key === key).map((m) => m.value.occurredAt);
        expect(sequences).toEqual(Array.from({ length: 20 }, (_, i) => i));
      }
    });

    it('a payload that breaks the topic schema is refused on publish and nothing of its batch is sent', async () => {
      const consumer = await collect(bus, group());
      const broken = { ...startedEvent('c-1', 1), occurredAt: 'yesterday' } as unknown as ConversationEvent;

      const refusal = await bus
        .publish('events', [
          { key: 'c-1', value: startedEvent('c-1', 0) },
          { key: 'c-1', value: broken },
        ])
        .catch((error: unknown) => error);
      expect(isInvalidEventError(refusal)).toBe(true);
      expect((refusal as Error).message).toContain('occurredAt');

      await bus.publish('events', [{ key: 'c-1', value: startedEvent('c-1', 2) }]);
      await waitFor(() => consumer.messages.length >= 1, harness.waitMs, 'the sentinel event');
      expect(eventIds(consumer.messages)).toEqual(['c-1:2']);
    });

    it('bytes that are not JSON or not a valid event reach onInvalid with the reason and the original bytes', async () => {
      const consumer = await collect(bus, group());
      const notJson = Buffer.from('{"type": "conversation.started"');
      const wrongShape = Buffer.from(JSON.stringify({ type: 'conversation.started', eventId: 7 }));
      await bus.publishRaw('events', [
        { key: 'c-1', value: notJson, headers: {} },
        { key: 'c-1', value: wrongShape, headers: { origin: 'test' } },
      ]);
      await bus.publish('events', [{ key: 'c-1', value: startedEvent('c-1', 3) }]);

      await waitFor(
        () => consumer.messages.length === 1,
        harness.waitMs,
        'the valid event after the invalid ones',
      );
      expect(consumer.invalid).toHaveLength(2);
      const [first, second] = consumer.invalid;
      expect(first?.raw.equals(notJson)).toBe(true);
      expect(first?.reason).toMatch(/^malformed_json: /);
      expect(first?.key).toBe('c-1');
      expect(second?.raw.equals(wrongShape)).toBe(true);
      expect(second?.reason).toMatch(/^invalid_payload: .*eventId/);
      expect(eventIds(consumer.messages)).toEqual(['c-1:3']);
    });

    it('every consumer group gets every message', async () => {
      const first = await collect(bus, group());
      const second = await collect(bus, group());
      const events = Array.from({ length: 6 }, (_, i) => ({
        key: `c-${i}`,
        value: startedEvent(`c-${i}`, i),
      }));
      await bus.publish('events', events);

      await waitFor(
        () => first.messages.length >= 6 && second.messages.length >= 6,
        harness.waitMs,
        'both groups to get all events',
      );
      const expected = events.map((e) => e.value.eventId).sort();
      expect([...new Set(eventIds(first.messages))].sort()).toEqual(expected);
      expect([...new Set(eventIds(second.messages))].sort()).toEqual(expected);
    });

    it('the members of one group share its messages and together receive all of them', async () => {
      const groupId = group();
      const first = await collect(bus, groupId);
      const second = await collect(bus, groupId);
      const events = Array.from({ length: 30 }, (_, i) => ({
        key: `c-${i}`,
        value: startedEvent(`c-${i}`, i),
      }));
      await bus.publish('events', events);

      const union = () => new Set([...eventIds(first.messages), ...eventIds(second.messages)]);
      await waitFor(() => union().size === 30, harness.waitMs, 'the group to receive all events');
      expect([...union()].sort()).toEqual(events.map((e) => e.value.eventId).sort());
    });

    it('a handler that throws is given the same message again, and later messages wait for it', async () => {
      const consumer = await collect(bus, group(), { failFirst: 1 });
      await bus.publish('events', [
        { key: 'c-1', value: startedEvent('c-1', 1) },
        { key: 'c-1', value: startedEvent('c-1', 2) },
      ]);

      await waitFor(
        () => consumer.messages.length === 3,
        harness.waitMs,
        'the retried event and the next one',
      );
      expect(eventIds(consumer.messages)).toEqual(['c-1:1', 'c-1:1', 'c-1:2']);
    });

    it('a group that subscribes again continues after the messages it already handled', async () => {
      const groupId = group();
      const first = await collect(bus, groupId);
      await bus.publish('events', [
        { key: 'c-1', value: startedEvent('c-1', 1) },
        { key: 'c-1', value: startedEvent('c-1', 2) },
      ]);
      await waitFor(() => first.messages.length === 2, harness.waitMs, 'the first two events');
      await first.subscription.stop();

      await bus.publish('events', [{ key: 'c-1', value: startedEvent('c-1', 3) }]);
      const again = await collect(bus, groupId);
      await waitFor(() => again.messages.length >= 1, harness.waitMs, 'the third event');
      expect(eventIds(again.messages)).toEqual(['c-1:3']);
    });

    it('publishing on a closed bus is refused with a closed error', async () => {
      await bus.close();
      await expect(
        bus.publish('events', [{ key: 'c-1', value: startedEvent('c-1', 1) }]),
      ).rejects.toMatchObject({
        code: 'closed',
      });
    });
  });
}
