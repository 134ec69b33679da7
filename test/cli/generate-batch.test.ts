import { describe, expect, it } from 'vitest';
import { expandTopics } from '../../src/cli/batch.js';

const topic = (id: string, title = `Title of ${id}`) => ({ id, message: { title } });

describe('generate batch', () => {
  it('one conversation per topic keeps the topic id as it is', () => {
    expect(expandTopics([topic('a'), topic('b')], { copies: 1 }).map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('several conversations per topic give each copy its own id, numbered from 1', () => {
    const ids = expandTopics([topic('a'), topic('b')], { copies: 3 }).map((m) => m.id);
    expect(ids).toEqual(['a#1', 'a#2', 'a#3', 'b#1', 'b#2', 'b#3']);
  });

  it('a run id makes every id of this run new, so a shared store never sees them as already claimed', () => {
    const ids = expandTopics([topic('a')], { copies: 2, runId: 'r1' }).map((m) => m.id);
    expect(ids).toEqual(['a#1@r1', 'a#2@r1']);
  });

  it('the same topic given twice is started once', () => {
    expect(expandTopics([topic('a'), topic('a')], { copies: 2 })).toHaveLength(2);
  });

  it('an id that would pass the 200-character limit becomes a digest of itself', () => {
    const [message] = expandTopics([topic('x'.repeat(199))], { copies: 2 });
    expect(message!.id).toMatch(/^t-[0-9a-f]{32}$/);
  });

  it('the title, source and url travel with every copy', () => {
    const messages = expandTopics(
      [{ id: 'a', message: { title: 'T', source: 'hn', url: 'https://example.com' } }],
      { copies: 2 },
    );
    for (const m of messages)
      expect(m).toMatchObject({ title: 'T', source: 'hn', url: 'https://example.com' });
  });
});
