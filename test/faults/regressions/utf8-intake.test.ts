import { describe, expect, it } from 'vitest';
import { parseTopic } from '../../../src/intake/parse-topic.js';

/** Found by the hostile-input fault scenario: non-UTF-8 bytes used to start a conversation on a title with U+FFFD. */
describe('topic messages that are not UTF-8', () => {
  const latin1 = Buffer.concat([
    Buffer.from('{"id":"t1","title":"caf'),
    Buffer.from([0xe9]),
    Buffer.from('"}'),
  ]);

  it('a Latin-1 byte inside an otherwise valid message is refused as malformed JSON', () => {
    expect(parseTopic(latin1, 500)).toEqual({
      ok: false,
      reason: 'malformed_json: the bytes are not valid UTF-8',
    });
  });

  it('an overlong encoding is refused, not read as the character it disguises', () => {
    const overlong = Buffer.concat([
      Buffer.from('{"title":"a'),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from('b"}'),
    ]);
    expect(parseTopic(overlong, 500)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^malformed_json: /),
    });
  });

  it('valid multi-byte UTF-8 is still accepted', () => {
    expect(parseTopic(Buffer.from('{"id":"t2","title":"café 人工知能 👩‍💻"}', 'utf8'), 500)).toEqual({
      ok: true,
      topic: { id: 't2', title: 'café 人工知能 👩‍💻' },
    });
  });
});
