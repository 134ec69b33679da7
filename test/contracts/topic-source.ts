import { createHash } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deriveTopicId, EVENT_HEADERS } from '../../src/events.js';
import type { TopicDelivery, TopicSource } from '../../src/services/ports.js';

export interface DeadLetter {
  value: Buffer;
  headers: Record<string, string>;
}

/** What one adapter gives the contract for one test: a fresh source on a fresh input. */
export interface TopicSourceHarness {
  source: TopicSource;
  /** Puts bytes where producers put topic messages (all in one partition, in order, on Kafka). */
  produce(raw: Buffer | string): Promise<void>;
  /** The dead letters written so far. */
  deadLetters(): Promise<DeadLetter[]>;
  /** The name dead letters give as where they came from. */
  inputName: string;
  /** `topicMaxLength` the source was built with. */
  maxTitleLength: number;
  /** How long `next` may wait for a topic that was produced. */
  waitMs: number;
  /** How long `next` waits to show that nothing more comes. */
  quietMs: number;
  cleanup(): Promise<void>;
}

const json = (value: unknown) => JSON.stringify(value);

/** Reads `read()` until `done` accepts it or `timeoutMs` passes; returns the last reading either way. */
async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The behaviour every `TopicSource` adapter shares; run once per adapter. */
export function topicSourceContract(name: string, create: () => Promise<TopicSourceHarness>): void {
  describe(`TopicSource contract: ${name}`, () => {
    let harness: TopicSourceHarness;

    beforeEach(async () => {
      harness = await create();
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    async function next(): Promise<TopicDelivery> {
      const delivery = await harness.source.next(harness.waitMs);
      if (!delivery) throw new Error('expected a topic, none came');
      return delivery;
    }

    it('fields beyond id, title, source and url are kept as the topic metadata, not dead-lettered', async () => {
      await harness.produce(
        json({
          id: 'topic-meta',
          title: 'Why is the sea salty?',
          lang: 'en',
          tags: ['ocean', 'chemistry'],
          score: 0.9,
        }),
      );
      const delivery = await next();
      expect(delivery.topic).toEqual({
        id: 'topic-meta',
        title: 'Why is the sea salty?',
        metadata: { lang: 'en', tags: ['ocean', 'chemistry'], score: 0.9 },
      });
      await delivery.ack();
      expect(await harness.deadLetters()).toEqual([]);
    });

    it('a valid topic is delivered with its id; one without an id gets the id derived from its content', async () => {
      await harness.produce(
        json({
          id: 'topic-a',
          title: '  Why is the sea salty?  ',
          source: 'news',
          url: 'https://x.example/a',
        }),
      );
      await harness.produce(json({ title: 'Tides and the moon', source: 'feed' }));

      const first = await next();
      expect(first.topic).toEqual({
        id: 'topic-a',
        title: 'Why is the sea salty?',
        source: 'news',
        url: 'https://x.example/a',
      });
      const second = await next();
      expect(second.topic).toEqual({
        id: deriveTopicId({ title: 'Tides and the moon', source: 'feed' }),
        title: 'Tides and the moon',
        source: 'feed',
      });
      await first.ack();
      await second.ack();
      expect(await harness.deadLetters()).toEqual([]);
    });

    it('invalid messages are dead-lettered with a specific reason and their original bytes, and intake goes on', async () => {
      const cases: Array<[string, Buffer, RegExp]> = [
        ['malformed JSON', Buffer.from('{"title": "unterminated'), /^malformed_json: /],
        ['wrong types', Buffer.from(json({ id: 7, title: ['a'] })), /^invalid_payload: id: .*; title: /],
        [
          'extra fields over the metadata bound',
          Buffer.from(json({ title: 'ok', notes: 'n'.repeat(9000) })),
          /^invalid_payload: metadata: metadata is more than 8192 bytes of JSON$/,
        ],
        [
          'extra fields nested too deep',
          Buffer.from(json({ title: 'ok', tags: [[[[['deep']]]]] })),
          /^invalid_payload: metadata: tags\[0\]\[0\]\[0\]\[0\] is nested more than 4 levels deep$/,
        ],
        ['empty title', Buffer.from(json({ title: ' \t ' })), /^invalid_title: title is empty$/],
        [
          '10 KB title',
          Buffer.from(json({ title: 'a'.repeat(10 * 1024) })),
          new RegExp(
            `^invalid_title: title is 10240 characters, more than the ${harness.maxTitleLength} allowed$`,
          ),
        ],
        [
          'bidi override',
          Buffer.from(json({ title: 'Invoice \u202Egnp.exe' })),
          /^invalid_title: .*bidirectional.*U\+202E/,
        ],
        [
          'control character',
          Buffer.from(json({ title: 'Bell\u0007 ringing' })),
          /^invalid_title: .*control character U\+0007/,
        ],
        ['not UTF-8 JSON at all', Buffer.from([0xff, 0xfe, 0x00, 0x01]), /^malformed_json: /],
      ];
      for (const [, bytes] of cases) await harness.produce(bytes);
      await harness.produce(json({ id: 'after-the-bad-ones', title: 'Still delivered' }));

      const delivery = await next();
      expect(delivery.topic.id).toBe('after-the-bad-ones');
      await delivery.ack();

      const letters = await eventually(
        () => harness.deadLetters(),
        (found) => found.length >= cases.length,
        harness.waitMs,
      );
      expect(letters).toHaveLength(cases.length);
      for (const [what, bytes, reason] of cases) {
        const letter = letters.find((l) => l.value.equals(bytes));
        expect(letter, `dead letter for ${what}`).toBeDefined();
        expect(letter?.headers[EVENT_HEADERS.deadLetterReason], what).toMatch(reason);
        expect(letter?.headers[EVENT_HEADERS.deadLetterTopic], what).toBe(harness.inputName);
      }
    });

    it('a 50 MB message is dead-lettered quickly with its size, hash and first bytes only, and intake goes on', async () => {
      // Valid JSON with a valid id: only its size is wrong, so nothing but the byte cap can refuse it early.
      const huge = Buffer.from(json({ id: 'huge', title: `Huge ${'a'.repeat(50 * 1024 * 1024)}` }));
      await harness.produce(huge);
      await harness.produce(json({ id: 'after-the-huge-one', title: 'Still delivered' }));

      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const delivery = await next();
      loop.disable();
      expect(delivery.topic.id).toBe('after-the-huge-one');
      await delivery.ack();
      // Decoding, normalising and splitting the title blocked the event loop for seconds.
      expect(loop.max / 1e6, 'longest event loop stall, ms').toBeLessThan(1000);

      const letters = await eventually(
        () => harness.deadLetters(),
        (found) => found.length >= 1,
        harness.waitMs,
      );
      expect(letters).toHaveLength(1);
      const [letter] = letters;
      expect(letter!.headers[EVENT_HEADERS.deadLetterReason]).toBe(
        `oversize_message: ${huge.length} bytes, more than the ${64 * 1024} allowed`,
      );
      expect(letter!.headers[EVENT_HEADERS.deadLetterSize]).toBe(String(huge.length));
      expect(letter!.headers[EVENT_HEADERS.deadLetterSha256]).toBe(
        createHash('sha256').update(huge).digest('hex'),
      );
      expect(letter!.headers[EVENT_HEADERS.deadLetterTopic]).toBe(harness.inputName);
      // Only a prefix travels on: enough to recognise the message, far from its size.
      expect(letter!.value.length).toBeGreaterThan(0);
      expect(letter!.value.length).toBeLessThanOrEqual(256);
      expect(huge.subarray(0, letter!.value.length).equals(letter!.value)).toBe(true);
    }, 120_000);

    it('a topic whose id was seen before is delivered once', async () => {
      await harness.produce(json({ id: 'same', title: 'First sending' }));
      await harness.produce(json({ id: 'same', title: 'Sent again' }));
      await harness.produce(json({ title: 'Sent twice without an id', source: 's' }));
      await harness.produce(json({ title: 'Sent twice without an id', source: 's' }));
      await harness.produce(json({ id: 'sentinel', title: 'The last one' }));

      const ids: string[] = [];
      for (;;) {
        const delivery = await next();
        ids.push(delivery.topic.id);
        await delivery.ack();
        if (delivery.topic.id === 'sentinel') break;
      }
      expect(ids).toEqual([
        'same',
        deriveTopicId({ title: 'Sent twice without an id', source: 's' }),
        'sentinel',
      ]);
      expect(await harness.source.next(harness.quietMs)).toBeNull();
      expect(await harness.deadLetters()).toEqual([]);
    });

    it('a second message with the id of a topic still in flight is skipped', async () => {
      await harness.produce(json({ id: 'busy', title: 'In flight' }));
      await harness.produce(json({ id: 'busy', title: 'Same id meanwhile' }));
      await harness.produce(json({ id: 'sentinel', title: 'The last one' }));

      const inFlight = await next();
      expect(inFlight.topic.title).toBe('In flight');
      const after = await next();
      expect(after.topic.id).toBe('sentinel');
      await inFlight.ack();
      await after.ack();
    });

    it('a released topic is delivered again', async () => {
      await harness.produce(json({ id: 'given-back', title: 'Not started before shutdown' }));

      const first = await next();
      await first.release();
      const again = await next();
      expect(again.topic).toEqual(first.topic);
      await again.ack();
      expect(await harness.source.next(harness.quietMs)).toBeNull();
    });

    it('an acknowledged topic is not delivered again, and a second ack or a release after it changes nothing', async () => {
      await harness.produce(json({ id: 'done-once', title: 'Persisted' }));

      const delivery = await next();
      await delivery.ack();
      await delivery.ack();
      await delivery.release();
      expect(await harness.source.next(harness.quietMs)).toBeNull();
    });

    it('next gives null when no topic comes within the wait', async () => {
      expect(await harness.source.next(harness.quietMs)).toBeNull();
    });

    it('a closed source gives no more topics', async () => {
      await harness.produce(json({ id: 'late', title: 'After close' }));
      await harness.source.close();
      expect(await harness.source.next(harness.quietMs)).toBeNull();
    });
  });
}
