import { describe, expect, it } from 'vitest';
import { parseTopicsText } from '../../src/cli/topics-input.js';
import { isConfigError } from '../../src/errors.js';
import { deriveTopicId } from '../../src/events.js';

const limits = { topicMaxLength: 500, topicMaxMessageBytes: 1024 };

function failure(text: string): string {
  try {
    parseTopicsText(text, 'topics.txt', limits, '--topics');
  } catch (error) {
    if (isConfigError(error)) return error.message;
    throw error;
  }
  throw new Error('expected the text to be refused');
}

describe('topics input', () => {
  it('a plain file is one title per line, blank lines skipped, ids derived as the intake derives them', () => {
    const topics = parseTopicsText('First title\n\n  Second title  \r\n', 'topics.txt', limits, '--topics');
    expect(topics.map((t) => t.message.title)).toEqual(['First title', '  Second title  ']);
    expect(topics[0]!.id).toBe(deriveTopicId({ title: 'First title' }));
  });

  it('a file whose first line is a JSON object is read as JSONL topic messages', () => {
    const text = '{"id":"a","title":"T1","source":"hn"}\n{"title":"T2","url":"https://example.com"}\n';
    const topics = parseTopicsText(text, 'topics.jsonl', limits, '--topics');
    expect(topics.map((t) => t.id)).toEqual([
      'a',
      deriveTopicId({ title: 'T2', url: 'https://example.com' }),
    ]);
    expect(topics[0]!.message).toEqual({ id: 'a', title: 'T1', source: 'hn' });
  });

  it('a title that merely starts with a brace is a plain title', () => {
    const topics = parseTopicsText('{curly} braces in titles\n', 'topics.txt', limits, '--topics');
    expect(topics[0]!.message.title).toBe('{curly} braces in titles');
  });

  it('a bad title is refused with the file and line number', () => {
    expect(failure('ok\nalso ok\nbad\u0000title\n')).toBe(
      '--topics: topics.txt line 3: title contains a control character U+0000 at position 4',
    );
  });

  it('a title over the length limit is refused, not truncated', () => {
    expect(failure('x'.repeat(501))).toBe(
      '--topics: topics.txt line 1: title is 501 characters, more than the 500 allowed',
    );
  });

  it('a JSONL line that is not JSON, or not a topic message, is refused with its line', () => {
    expect(failure('{"title":"a"}\n{oops\n')).toMatch(/^--topics: topics.txt line 2: not valid JSON/);
    expect(failure('{"title":"a"}\n{"title":"b","id":7}\n')).toMatch(
      /^--topics: topics.txt line 2: not a topic message/,
    );
    const deep = JSON.stringify({ title: 'b', tags: { a: { b: { c: { d: { e: 1 } } } } } });
    expect(failure(`{"title":"a"}\n${deep}\n`)).toMatch(
      /^--topics: topics.txt line 2: not a topic message \(metadata: tags\.a\.b\.c\.d is nested more than 4 levels deep\)/,
    );
  });

  it('a JSONL line larger than the intake takes (MAX_TOPIC_MESSAGE_BYTES) is refused with its line, not dead-lettered later', () => {
    const line = JSON.stringify({ title: 'b', metadata: { notes: 'n'.repeat(1100) } });
    expect(failure(`{"title":"a"}\n${line}\n`)).toMatch(
      /^--topics: topics.txt line 2: oversize_message: \d+ bytes, more than the 1024 allowed$/,
    );
  });

  it('a file without any topic is refused', () => {
    expect(failure('\n  \n')).toBe('--topics: topics.txt holds no topics');
  });
});
