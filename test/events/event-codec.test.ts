import { describe, expect, it } from 'vitest';
import { isInvalidEventError } from '../../src/errors.js';
import type { ConversationEvent } from '../../src/events.js';
import { decodeEvent, encodeEvent } from '../../src/intake/event-codec.js';
import { startedEvent } from '../contracts/event-bus.js';

describe('event codec', () => {
  it('a valid event round-trips through bytes', () => {
    const event = startedEvent('c-1', 1);
    expect(decodeEvent('events', encodeEvent('events', event))).toEqual({ ok: true, value: event });
  });

  it('encoding refuses a payload that breaks the schema with a typed, non-retryable error naming the field', () => {
    const broken = {
      ...startedEvent('c-1', 1),
      type: 'conversation.exploded',
    } as unknown as ConversationEvent;
    let thrown: unknown;
    try {
      encodeEvent('events', broken);
    } catch (error) {
      thrown = error;
    }
    expect(isInvalidEventError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ retryable: false, topic: 'events' });
    expect((thrown as Error).message).toContain('type');
  });

  it('decoding never throws: missing, unparsable and invalid bytes each give a reason', () => {
    expect(decodeEvent('events', null)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^empty_message/),
    });
    expect(decodeEvent('events', Buffer.from('nope'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^malformed_json/),
    });
    expect(decodeEvent('events', Buffer.from('{}'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^invalid_payload/),
    });
  });
});
