import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveRunId, digestOf, journalDirFor, RunJournal } from '../../src/cli/run-journal.js';
import { isConfigError } from '../../src/errors.js';
import { journalDir } from '../journal/support.js';

const removals: Array<() => void> = [];
afterEach(() => {
  for (const remove of removals.splice(0)) remove();
});

function workDir(label: string): string {
  const { dir, remove } = journalDir(label);
  removals.push(remove);
  return dir;
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(isConfigError(error)).toBe(true);
    return error as Error;
  }
  throw new Error('expected a refusal');
}

describe('the journal of a resumable generate run', () => {
  it('lives beside the output unless --state-dir names a place; none for stdout', () => {
    expect(journalDirFor({ out: 'data/x.jsonl' })).toBe('data/x.jsonl.journal');
    expect(journalDirFor({ out: 'x.jsonl', stateDir: '/var/state' })).toBe('/var/state');
    expect(journalDirFor({})).toBeUndefined();
    expect(journalDirFor({ out: '-' })).toBeUndefined();
  });

  it('derives the same run id from the same output and inputs, another from other ones', () => {
    const inputs = digestOf({ topics: ['a', 'b'], format: 'chimera' });
    expect(digestOf({ format: 'chimera', topics: ['a', 'b'] })).toBe(inputs);
    expect(deriveRunId('out.jsonl', inputs)).toBe(deriveRunId('./out.jsonl', inputs));
    expect(deriveRunId('out.jsonl', inputs)).not.toBe(deriveRunId('other.jsonl', inputs));
    expect(deriveRunId('out.jsonl', inputs)).not.toBe(deriveRunId('out.jsonl', digestOf({ topics: ['a'] })));
  });

  it('cuts a torn last line and an unmarked record off the output, and keeps what was marked', async () => {
    const dir = workDir('torn');
    const out = join(dir, 'out.jsonl');
    let journal = await RunJournal.open(`${out}.journal`);
    expect(await journal.bind('inputs-1', 'run-1', undefined)).toEqual({ id: 'run-1', resumed: false });
    let output = await journal.openOutput(out);
    await output.write('{"conversationId":"c-1"}\n');
    await output.mark('c-1');
    await output.write('{"conversationId":"c-2"}\n'); // written, never marked: the process died here
    await output.close();
    await journal.close();
    appendFileSync(out, '{"conversationId":"c-3","tur'); // and a torn write after it

    journal = await RunJournal.open(`${out}.journal`);
    expect(await journal.bind('inputs-1', 'ignored', undefined)).toEqual({ id: 'run-1', resumed: true });
    expect([...journal.done]).toEqual(['c-1']);
    output = await journal.openOutput(out);
    expect(output.cutBytes).toBe('{"conversationId":"c-2"}\n{"conversationId":"c-3","tur'.length);
    expect(readFileSync(out, 'utf8')).toBe('{"conversationId":"c-1"}\n');
    await output.write('{"conversationId":"c-2"}\n');
    await output.mark('c-2');
    await output.close();
    await journal.close();
    expect(readFileSync(out, 'utf8')).toBe('{"conversationId":"c-1"}\n{"conversationId":"c-2"}\n');
  });

  it('refuses another run’s journal, an output shorter than recorded, and keeps nothing after --fresh', async () => {
    const dir = workDir('refuse');
    const out = join(dir, 'out.jsonl');
    let journal = await RunJournal.open(`${out}.journal`);
    await journal.bind('inputs-1', 'run-1', undefined);
    const output = await journal.openOutput(out);
    await output.write('{"conversationId":"c-1"}\n');
    await output.mark('c-1');
    await output.close();

    expect((await refusal(journal.bind('inputs-2', 'run-2', undefined))).message).toMatch(
      /belongs to run run-1, made with other topics or flags/,
    );
    expect((await refusal(journal.bind('inputs-1', 'x', 'run-9'))).message).toMatch(
      /belongs to run run-1, not run-9/,
    );
    await journal.close();

    writeFileSync(out, '');
    journal = await RunJournal.open(`${out}.journal`);
    expect((await refusal(journal.openOutput(out))).message).toMatch(
      /shorter \(0 bytes\) than the run journal/,
    );
    await journal.close();

    journal = await RunJournal.open(`${out}.journal`, { fresh: true });
    expect(await journal.bind('inputs-2', 'run-2', undefined)).toEqual({ id: 'run-2', resumed: false });
    expect(journal.done.size).toBe(0);
    await journal.close();
  });

  it('keeps the run and the output marks through a compaction', async () => {
    const dir = workDir('compact');
    const journal = await RunJournal.open(dir);
    await journal.bind('inputs-1', 'run-1', undefined);
    await journal.markOutput(['c-1', 'c-2'], 50);
    await journal.close();
    const { Journal } = await import('../../src/services/journal/journal.js');
    // A tiny segment size: the next write compacts, rewriting the state as the new segment's base.
    const small = await Journal.open(dir, { maxSegmentBytes: 1 });
    await small.commit({ t: 'output', c: ['c-3'], bytes: 80 });
    await small.commit({ t: 'output', c: [], bytes: 80 });
    expect(small.stats().segment).toBeGreaterThan(1);
    await small.close();
    const reopened = await RunJournal.open(dir);
    expect(await reopened.bind('inputs-1', 'x', undefined)).toEqual({ id: 'run-1', resumed: true });
    expect([...reopened.done].sort()).toEqual(['c-1', 'c-2', 'c-3']);
    expect(reopened.stores.journal.state.output.bytes).toBe(80);
    await reopened.close();
  });
});
