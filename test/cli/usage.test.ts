import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/** Bad usage prints exactly one line, prefixed with the program name, and no stack trace. */
function expectOneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^chimera: /);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('chimera usage', { timeout: 90_000 }, () => {
  it.concurrent.each([
    [['--help']],
    [['generate', '--help']],
    [['run', '--help']],
    [['topics', 'add', '--help']],
    [['export', '--help']],
    [['status', '--help']],
  ])('%j prints help and exits 0', async (args) => {
    const result = await runCli(args);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: chimera/);
  });

  it('no command at all prints the help on stderr and exits 2', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^Usage: chimera/);
  });

  it.concurrent.each([
    [['bogus'], "unknown command 'bogus'"],
    [['generate', '--topic', 'x', '--bogus'], "unknown option '--bogus'"],
    [['generate', '--topic', 'x', '--format', 'xml'], "'xml' is invalid"],
    [['generate', '--topic', 'x', '--conversations', '0'], "'0' is invalid. expected a whole number from 1"],
    [['generate', '--topic', 'x', '--min-quality', '2'], "'2' is invalid. expected a number from 0 to 1"],
    [['generate'], '--topic: give at least one --topic TITLE or --topics FILE'],
    [['generate', '--topic', 'x', '--provider', 'anthropic'], '--provider: anthropic has no credentials'],
    [['generate', '--topic', 'x', '--provider', 'gpt5'], '--provider: expected one of'],
    [['generate', '--topic', 'bell\u0007 in a title'], '--topic: title contains a control character U+0007'],
    [['export', '--format', 'openai'], "required option '--from <source>' not specified"],
    [['export', '--from', 'kafka'], '--from: kafka needs KAFKA_BOOTSTRAP_SERVERS'],
    [['export', '--from', 'redis'], '--from: redis needs REDIS_URL'],
    [['topics', 'add', 'A topic'], 'topics add: a daemon receives topics through Kafka or Redis'],
    [['topics', 'add'], 'title: give a topic title or --file FILE'],
    [['status'], 'status: the daemons share their state through Redis'],
  ])('%j exits 2 with one line: %s', async (args, expected) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(expectOneLine(result.stderr)).toContain(expected);
    expect(result.stdout).toBe('');
  });

  it('an unreadable --topics file exits 2 with one line naming the file', async () => {
    const result = await runCli(['generate', '--topics', 'test/cli/no-such-topics.txt']);
    expect(result.code).toBe(2);
    expect(expectOneLine(result.stderr)).toBe(
      'chimera: --topics: cannot read test/cli/no-such-topics.txt: no such file or directory',
    );
  });

  it('an invalid configuration variable exits 2 with the one-line config error', async () => {
    const result = await runCli(['generate', '--topic', 'x'], { env: { MAX_CONVERSATION_TURNS: 'abc' } });
    expect(result.code).toBe(2);
    expect(expectOneLine(result.stderr)).toBe(
      'chimera: MAX_CONVERSATION_TURNS: expected a whole number from 1 to 1000 (got "abc")',
    );
  });

  it('a bad REDIS_PORT is refused by every command, before anything connects', async () => {
    const result = await runCli(['status'], { env: { REDIS_PORT: 'abc' } });
    expect(result.code).toBe(2);
    expect(expectOneLine(result.stderr)).toBe(
      'chimera: REDIS_PORT: expected a whole number from 1 to 65535 (got "abc")',
    );
  });

  it('a secret in a bad variable is not echoed', async () => {
    const result = await runCli(['status'], { env: { REDIS_URL: 'redis://:hunter2hunter2@' } });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('an unreachable Redis is a runtime failure: exit 1 with one line naming the host', async () => {
    const result = await runCli(['status'], { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(result.code).toBe(1);
    expect(expectOneLine(result.stderr)).toMatch(/^chimera: cannot reach Redis at 127\.0\.0\.1:1/);
  });

  it('an unreachable Kafka broker is a runtime failure: exit 1 with one line, without kafkajs log noise', async () => {
    const result = await runCli(['export', '--from', 'kafka'], {
      env: { KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1' },
    });
    expect(result.code).toBe(1);
    expect(expectOneLine(result.stderr)).toContain('ECONNREFUSED 127.0.0.1:1');
  });
});
