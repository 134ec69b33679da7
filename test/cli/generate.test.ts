import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { conversationRecordSchema } from '../../src/events.js';
import { parseJsonl, repoRoot, runCli, spawnCli } from '../support/cli.js';

/** Short conversations keep the child processes quick; the limits are the defaults' shape, not their size. */
const OFFLINE = { MAX_CONVERSATION_TURNS: '4', MIN_CONVERSATION_TURNS: '2' };

const openAiLine = z
  .object({
    id: z.string().min(1),
    messages: z
      .array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string().min(1) }).strict())
      .min(3),
  })
  .strict();

const shareGptLine = z
  .object({
    id: z.string().min(1),
    conversations: z
      .array(z.object({ from: z.enum(['system', 'human', 'gpt']), value: z.string().min(1) }).strict())
      // One question and its answer at least: OFFLINE allows a natural ending after two turns.
      .min(2),
  })
  .strict();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chimera-generate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('chimera generate, offline (no Redis, no Kafka, no provider keys)', { timeout: 90_000 }, () => {
  it('writes N chimera records to stdout, each a valid simulated record, and warns loudly on stderr', async () => {
    const result = await runCli(
      ['generate', '--topic', 'The economics of offshore wind', '--conversations', '3'],
      { env: OFFLINE },
    );
    expect(result.code, result.stderr).toBe(0);
    const records = parseJsonl(result.stdout).map((line) => conversationRecordSchema.parse(line));
    expect(records).toHaveLength(3);
    expect(new Set(records.map((r) => r.conversationId)).size).toBe(3);
    expect(new Set(records.map((r) => r.topic.id)).size).toBe(3);
    for (const record of records) {
      expect(record.simulated).toBe(true);
      expect(record.status).toBe('ended');
      expect(record.topic.title).toBe('The economics of offshore wind');
      expect(record.turns.length).toBeGreaterThanOrEqual(2);
      expect(record.turns.length).toBeLessThanOrEqual(4);
      for (const turn of record.turns) expect(turn).toMatchObject({ provider: 'simulated', attempts: 1 });
    }
    expect(result.stderr).toContain('SIMULATED OUTPUT');
    expect(result.stderr).toContain('Do not train on this data');
    expect(result.stderr).toMatch(/wrote 3 conversations .* to stdout; 3 ended, 0 failed/);
  });

  it('writes the openai format: a system message, then user and assistant turns ending on the assistant', async () => {
    const out = join(dir, 'openai.jsonl');
    const result = await runCli(
      [
        'generate',
        '--topic',
        'Grid-scale batteries',
        '--conversations',
        '2',
        '--format',
        'openai',
        '--out',
        out,
      ],
      { env: OFFLINE },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    const lines = parseJsonl(await readFile(out, 'utf8')).map((line) => openAiLine.parse(line));
    expect(lines).toHaveLength(2);
    for (const { messages } of lines) {
      expect(messages[0]!.role).toBe('system');
      expect(messages.slice(1).map((m) => m.role)).toEqual(
        messages.slice(1).map((_, i) => (i % 2 === 0 ? 'user' : 'assistant')),
      );
      expect(messages.at(-1)!.role).toBe('assistant');
    }
    expect(result.stderr).toContain(`to ${out}`);
  });

  it('writes the sharegpt format: human and gpt turns, no system message with --no-system', async () => {
    const result = await runCli(
      [
        'generate',
        '--topic',
        'Heat pumps in cold climates',
        '--conversations',
        '2',
        '--format',
        'sharegpt',
        '--no-system',
      ],
      { env: OFFLINE },
    );
    expect(result.code, result.stderr).toBe(0);
    const lines = parseJsonl(result.stdout).map((line) => shareGptLine.parse(line));
    expect(lines).toHaveLength(2);
    for (const { conversations } of lines) {
      expect(conversations[0]!.from).toBe('human');
      expect(conversations.at(-1)!.from).toBe('gpt');
      expect(conversations.map((c) => c.from)).toEqual(
        conversations.map((_, i) => (i % 2 === 0 ? 'human' : 'gpt')),
      );
    }
  });

  it('--topics FILE with 3 titles and --conversations 2 gives 6 records with distinct ids', async () => {
    const file = join(dir, 'topics.txt');
    await writeFile(file, 'Solid-state batteries\n\nThe history of the metric system\nWhy bridges sway\n');
    const result = await runCli(['generate', '--topics', file, '--conversations', '2'], { env: OFFLINE });
    expect(result.code, result.stderr).toBe(0);
    const records = parseJsonl(result.stdout).map((line) => conversationRecordSchema.parse(line));
    expect(records).toHaveLength(6);
    expect(new Set(records.map((r) => r.conversationId)).size).toBe(6);
    expect(new Set(records.map((r) => r.topic.id)).size).toBe(6);
    // In the order given: each topic's copies together, topics in file order.
    expect(records.map((r) => r.topic.title)).toEqual([
      'Solid-state batteries',
      'Solid-state batteries',
      'The history of the metric system',
      'The history of the metric system',
      'Why bridges sway',
      'Why bridges sway',
    ]);
  });

  it('a JSONL topics file keeps each topic id, source and url', async () => {
    const file = join(dir, 'topics.jsonl');
    await writeFile(
      file,
      [
        JSON.stringify({
          id: 'hn-1',
          title: 'Rust in the kernel',
          source: 'hackernews',
          url: 'https://example.com/1',
        }),
        JSON.stringify({ title: 'Tidal power', source: 'rss' }),
      ].join('\n'),
    );
    const result = await runCli(['generate', '--topics', file], { env: OFFLINE });
    expect(result.code, result.stderr).toBe(0);
    const records = parseJsonl(result.stdout).map((line) => conversationRecordSchema.parse(line));
    expect(records.map((r) => r.topic)).toEqual([
      { id: 'hn-1', title: 'Rust in the kernel', source: 'hackernews', url: 'https://example.com/1' },
      expect.objectContaining({ title: 'Tidal power', source: 'rss', id: expect.stringMatching(/^t-/) }),
    ]);
  });

  it('a topics file with an invalid title exits 2 naming the file and line, and writes nothing', async () => {
    const file = join(dir, 'bad-topics.txt');
    const out = join(dir, 'never.jsonl');
    await writeFile(file, 'A fine title\nA title with a hidden \u202Eoverride\n');
    const result = await runCli(['generate', '--topics', file, '--out', out], { env: OFFLINE });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `chimera: --topics: ${file} line 2: title contains a bidirectional control character U+202E at position 23`,
    );
    await expect(readFile(out, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('--provider simulated says the simulated provider was asked for', async () => {
    const result = await runCli(['generate', '--topic', 'Desalination', '--provider', 'simulated'], {
      env: OFFLINE,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('the simulated provider was asked for');
  });

  it('without a terminal, progress is plain lines on stderr', async () => {
    const result = await runCli(['generate', '--topic', 'Desalination', '--conversations', '2'], {
      env: OFFLINE,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^generate: 2\/2 conversations \(100%\), 0 failed, \d+ turns/m);
    expect(result.stderr).not.toContain('\r');
  });

  it('a conversation that fails makes the run exit 1; the chimera format keeps the failed record', async () => {
    // An OpenAI-compatible server that refuses connections: every call fails, and one attempt is all it gets.
    const env = { ...OFFLINE, OPENAI_BASE_URL: 'http://127.0.0.1:1/v1', RETRY_MAX_ATTEMPTS: '1' };
    const result = await runCli(['generate', '--topic', 'Tidal power', '--provider', 'openai'], { env });
    expect(result.code).toBe(1);
    const [record] = parseJsonl(result.stdout).map((line) => conversationRecordSchema.parse(line));
    expect(record).toMatchObject({
      status: 'failed',
      terminationReason: 'provider_failed',
      simulated: false,
    });
    expect(result.stderr).not.toContain('SIMULATED');
    expect(result.stderr).toMatch(/; 0 ended, 1 failed\n$/);
  });

  it('the openai format leaves a failed conversation out and says how to keep it', async () => {
    const env = { ...OFFLINE, OPENAI_BASE_URL: 'http://127.0.0.1:1/v1', RETRY_MAX_ATTEMPTS: '1' };
    const result = await runCli(
      ['generate', '--topic', 'Tidal power', '--provider', 'openai', '--format', 'openai'],
      {
        env,
      },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('1 failed left out (--include-failed keeps them)');
  });

  it('Ctrl-C drains the conversations in flight and exits 130', async () => {
    // Slow, long conversations: still running when the interrupt comes.
    const env = { SIMULATED_LATENCY_MS: '500', MAX_CONVERSATION_TURNS: '40', MIN_CONVERSATION_TURNS: '40' };
    const child = spawnCli(['generate', '--topic', 'Tidal power', '--conversations', '2'], { env });
    let stderr = '';
    const started = new Promise<void>((resolve) => {
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        // The first progress line comes once the run is under way.
        if (stderr.includes('generate: 0/2')) resolve();
      });
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    await started;
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(130);
    expect(stderr).toContain('chimera: interrupted; stopping');
  });

  it('bin/chimera.js runs the command line from a checkout without a build', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { stdout } = await promisify(execFile)(process.execPath, ['bin/chimera.js', '--version'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
