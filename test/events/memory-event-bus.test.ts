import { describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../src/events.js';
import { InMemoryEventBus } from '../../src/services/memory/event-bus.js';
import type { ReceivedMessage } from '../../src/services/ports.js';
import { eventBusContract, startedEvent, waitFor } from '../contracts/event-bus.js';

eventBusContract('in memory', async () => {
  const bus = new InMemoryEventBus({ handlerRetryDelayMs: 5 });
  return { bus, waitMs: 2000, cleanup: () => bus.close() };
});

describe('InMemoryEventBus', () => {
  const noop = async () => {};

  it('each message of a group goes to exactly one of its members', async () => {
    const bus = new InMemoryEventBus({ partitions: 4 });
    const received: Array<ReceivedMessage<ConversationEvent>[]> = [[], []];
    for (const inbox of received) {
      await bus.subscribe('events', {
        groupId: 'shared',
        onMessage: async (message) => void inbox.push(message),
        onInvalid: noop,
      });
    }
    const events = Array.from({ length: 40 }, (_, i) => ({
      key: `c-${i}`,
      value: startedEvent(`c-${i}`, i),
    }));
    await bus.publish('events', events);

    await waitFor(() => received[0]!.length + received[1]!.length === 40, 2000, 'all events');
    const ids = received.flat().map((m) => m.value.eventId);
    expect(new Set(ids).size).toBe(40);
    expect(received[0]!.length).toBeGreaterThan(0);
    expect(received[1]!.length).toBeGreaterThan(0);
    await bus.close();
  });

  it('a new group that does not ask for the beginning starts after what is already stored', async () => {
    const bus = new InMemoryEventBus();
    await bus.publish('events', [{ key: 'c-1', value: startedEvent('c-1', 1) }]);
    const received: string[] = [];
    await bus.subscribe('events', {
      groupId: 'late',
      onMessage: async (message) => void received.push(message.value.eventId),
      onInvalid: noop,
    });
    await bus.publish('events', [{ key: 'c-1', value: startedEvent('c-1', 2) }]);

    await waitFor(() => received.length === 1, 2000, 'the new event');
    expect(received).toEqual(['c-1:2']);
    await bus.close();
  });

  it('a handler never runs inside the publish call that fed it', async () => {
    const bus = new InMemoryEventBus();
    let publishing = false;
    let ranDuringPublish = false;
    let calls = 0;
    await bus.subscribe('events', {
      groupId: 'g',
      onMessage: async () => {
        calls += 1;
        if (publishing) ranDuringPublish = true;
      },
      onInvalid: noop,
    });
    publishing = true;
    const published = bus.publish('events', [{ key: 'c-1', value: startedEvent('c-1', 1) }]);
    publishing = false;
    await published;
    await waitFor(() => calls === 1, 2000, 'the delivery');
    expect(ranDuringPublish).toBe(false);
    await bus.close();
  });

  it('stop waits for the handler in flight, and a stopped member gets nothing more', async () => {
    const bus = new InMemoryEventBus();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const received: string[] = [];
    let finished = false;
    const subscription = await bus.subscribe('events', {
      groupId: 'g',
      onMessage: async (message) => {
        received.push(message.value.eventId);
        await gate;
        finished = true;
      },
      onInvalid: noop,
    });
    await bus.publish('events', [{ key: 'c-1', value: startedEvent('c-1', 1) }]);
    await waitFor(() => received.length === 1, 2000, 'the first delivery');

    const stopped = subscription.stop();
    release();
    await stopped;
    expect(finished).toBe(true);
    await bus.publish('events', [{ key: 'c-1', value: startedEvent('c-1', 2) }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).toEqual(['c-1:1']);
    await bus.close();
  });

  it('dead letters are stored as the bytes and headers given, readable with read()', async () => {
    const bus = new InMemoryEventBus();
    const bytes = Buffer.from([0xff, 0x00, 0x7b]);
    await bus.publishRaw('deadLetter', [{ key: null, value: bytes, headers: { reason: 'x' } }]);
    const [stored] = bus.read('deadLetter');
    expect(stored?.value.equals(bytes)).toBe(true);
    expect(stored?.headers).toEqual({ reason: 'x' });
    expect(stored?.key).toBeNull();
  });
});
