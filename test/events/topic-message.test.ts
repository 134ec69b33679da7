import { describe, expect, it } from 'vitest';
import { parseTopic } from '../../src/intake/parse-topic.js';

/**
 * Found by the hostile-input fault scenario after topic messages began keeping extra fields as metadata:
 * JSON.parse gives `{"__proto__": ...}` an own `__proto__` key, zod's copy of the object drops it before
 * the metadata check sees it, and the message was admitted as a topic instead of dead-lettered.
 */
describe('a topic message with a __proto__ key', () => {
  it('is refused as an invalid payload naming the reserved key, and nothing is polluted', () => {
    const parsed = parseTopic(Buffer.from('{"__proto__":{"polluted":1},"title":"proto"}'), 500);
    expect(parsed).toEqual({
      ok: false,
      reason: 'invalid_payload: metadata: metadata.__proto__ is a reserved key',
    });
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
  });

  it('while other extra fields are still kept as metadata', () => {
    const parsed = parseTopic(Buffer.from('{"title":"Tidal power","lang":"en"}'), 500);
    expect(parsed).toMatchObject({ ok: true, topic: { title: 'Tidal power', metadata: { lang: 'en' } } });
  });
});
