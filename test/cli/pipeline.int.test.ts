import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { parseJsonl, runCli } from '../support/cli.js';
import { collectEvents, deleteKeys, infraEnv, uniqueNames, until } from '../support/infra.js';
import { startDaemon } from './run-process.js';

const cleanups = cleanupsAfterEach();

describe('the daily workflow, every step a real chimera process', () => {
  it('run, then topics add, then export from Kafka and from Redis yields the dataset', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const env = infraEnv({
      ...names.env,
      LOG_LEVEL: 'info',
      MAX_CONVERSATION_TURNS: '4',
      MIN_CONVERSATION_TURNS: '2',
    });
    const daemon = startDaemon(['--provider', 'simulated', '--http-port', '0'], env);
    cleanups.add(async () => {
      daemon.child.kill('SIGTERM');
      await daemon.exitWithin(30_000);
    });
    await daemon.httpPort();

    const dir = mkdtempSync(join(tmpdir(), 'chimera-pipeline-'));
    const titles = ['Perovskite solar cells', 'Small modular reactors', 'Vertical farming', 'Green hydrogen'];
    writeFileSync(join(dir, 'titles.txt'), `${titles.join('\n')}\n`);
    const added = await runCli(['topics', 'add', '--file', join(dir, 'titles.txt')], { env });
    expect(added.code, added.stderr).toBe(0);

    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.add(() => reader.stop());
    await until(() => reader.ended().length >= titles.length, 60_000, 'every topic to end');

    const openai = join(dir, 'openai.jsonl');
    const fromKafka = await runCli(['export', '--from', 'kafka', '--format', 'openai', '--out', openai], {
      env,
    });
    expect(fromKafka.code, fromKafka.stderr).toBe(0);
    const chats = parseJsonl(readFileSync(openai, 'utf8')) as Array<{
      messages: Array<{ role: string; content: string }>;
    }>;
    expect(chats).toHaveLength(titles.length);
    for (const chat of chats) {
      expect(chat.messages.some((m) => m.role === 'user')).toBe(true);
      expect(chat.messages.at(-1)!.role).toBe('assistant');
    }

    const fromRedis = await runCli(['export', '--from', 'redis', '--format', 'chimera'], { env });
    expect(fromRedis.code, fromRedis.stderr).toBe(0);
    const records = parseJsonl(fromRedis.stdout) as Array<{ topic: { title: string }; simulated: boolean }>;
    expect(records.map((r) => r.topic.title).sort()).toEqual([...titles].sort());
    expect(records.every((r) => r.simulated)).toBe(true);
  });
});
