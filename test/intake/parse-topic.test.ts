import { describe, expect, it } from 'vitest';
import { deriveTopicId } from '../../src/events.js';
import { reasonCode } from '../../src/intake/event-codec.js';
import { parseTopic } from '../../src/intake/parse-topic.js';

const parse = (value: unknown, max = 50) =>
  parseTopic(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), max);

function reason(value: unknown, max = 50): string {
  const parsed = parse(value, max);
  if (parsed.ok) throw new Error('expected a refusal');
  return parsed.reason;
}

describe('parsing a topic message', () => {
  it('the title is trimmed and NFC-normalised; source and url are kept', () => {
    const parsed = parse({ id: 'x', title: '  Cafe\u0301 culture ', source: 's', url: 'https://u.example' });
    expect(parsed).toEqual({
      ok: true,
      topic: { id: 'x', title: 'Café culture', source: 's', url: 'https://u.example' },
    });
  });

  it('the derived id depends on title, source and url, so the same content has one id', () => {
    const a = parse({ title: 'Same', source: 'feed' });
    const b = parse({ title: 'Same', source: 'feed' });
    const c = parse({ title: 'Same', source: 'other' });
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (a.ok && b.ok && c.ok) {
      expect(a.topic.id).toBe(b.topic.id);
      expect(a.topic.id).not.toBe(c.topic.id);
      expect(a.topic.id).toBe(deriveTopicId({ title: 'Same', source: 'feed' }));
    }
  });

  it('a reason quotes at most 60 characters of the input, however long the offending key', () => {
    const key = `k${'e'.repeat(500)}`;
    const deep = reason({ title: 'ok', [key]: [[[[['deep']]]]] });
    expect(deep).toMatch(/^invalid_payload: metadata: ke+\.\.\. is nested more than 4 levels deep$/);
    const quoted = /metadata: (k[e]*)\.\.\./.exec(deep)![1]!;
    expect(quoted.length).toBeLessThanOrEqual(60);
    expect(reason({ title: 'ok', [key]: { constructor: 1 } })).not.toContain('e'.repeat(61));
  });

  it('each kind of bad input has its own reason code', () => {
    expect(reasonCode(reason(''))).toBe('empty_message');
    expect(reasonCode(reason('{"title":'))).toBe('malformed_json');
    expect(reasonCode(reason({ title: 1 }))).toBe('invalid_payload');
    expect(reasonCode(reason({ title: 'a', id: '' }))).toBe('invalid_payload');
    expect(reasonCode(reason({ title: '   ' }))).toBe('invalid_title');
    expect(reason({ title: 'x'.repeat(51) })).toBe(
      'invalid_title: title is 51 characters, more than the 50 allowed',
    );
    expect(reason({ title: 'a\u2066b' })).toMatch(/^invalid_title: .*U\+2066/);
  });

  it('a reason does not echo a long hostile value back', () => {
    const long = reason(`{"title": "${'x'.repeat(5000)}`);
    expect(long.length).toBeLessThan(400);
  });
});
