/**
 * `chimera generate` and money: the spend on the progress line, `--max-cost` held on the fake server's own
 * bill, and the cost configuration errors (one line, exit code 2) before anything runs.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatUsd } from '../../src/cost/money.js';
import { conversationRecordSchema } from '../../src/events.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { runCli } from '../support/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chimera-generate-cost-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fake: FakeProviderServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function anthropicEnv(server: FakeProviderServer): Record<string, string> {
  return {
    ANTHROPIC_API_KEY: 'sk-ant-test-key-0000000000',
    ANTHROPIC_BASE_URL: server.urls.anthropic,
    ANTHROPIC_RPM: '100000',
    ANTHROPIC_TPM: '100000000',
    MAX_CONVERSATION_TURNS: '4',
    MIN_CONVERSATION_TURNS: '4',
    MAX_TOKENS_PER_TURN: '200',
  };
}

const parseJsonl = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => conversationRecordSchema.parse(JSON.parse(line)));

describe('chimera generate: spend', () => {
  it('the progress line shows spend so far and the projected total, and the records cost what the server billed', async () => {
    fake = await startFakeProviderServer();
    const out = join(dir, 'spend.jsonl');
    const result = await runCli(
      ['generate', '--provider', 'anthropic', '--topic', 'Tidal power', '--conversations', '3', '--out', out],
      { env: anthropicEnv(fake) },
    );
    expect(result.code, result.stderr).toBe(0);
    const records = parseJsonl(await readFile(out, 'utf8'));
    const total = records.reduce((sum, r) => sum + r.cost!.micros, 0);
    expect(total).toBe(fake.bill().totalMicros);
    // The last progress line: everything finished, so the projection is what was spent.
    const line = result.stderr.split('\n').findLast((l) => l.startsWith('generate: 3/3'));
    expect(line).toContain(`${formatUsd(total)} spent, ~${formatUsd(total)} projected`);
  });

  it('--max-cost stops the run at the cap: the bill stays within it, and it says so in one line with exit code 1', async () => {
    fake = await startFakeProviderServer({ latencyMs: 10 });
    const out = join(dir, 'capped.jsonl');
    const capMicros = 20_000;
    const capped = [
      'generate',
      '--provider',
      'anthropic',
      '--topic',
      'Heat networks',
      '--conversations',
      '12',
      '--max-cost',
      String(capMicros / 1e6),
      '--out',
      out,
    ];
    const result = await runCli(capped, { env: anthropicEnv(fake) });
    expect(result.code, result.stderr).toBe(1);
    expect(fake.bill().totalMicros).toBeGreaterThan(0);
    expect(fake.bill().totalMicros).toBeLessThanOrEqual(capMicros);
    expect(result.stderr, result.stderr).toMatch(
      /chimera: spending cap reached after \$0\.\d{4,6}: \d+ conversation\(s\) not finished \(paused or not started\)/,
    );
    const records = parseJsonl(await readFile(out, 'utf8'));
    expect(records.length).toBeLessThan(12);
    for (const record of records) expect(record.status).toBe('ended');
    // No call was sent twice.
    for (const key of fake.requestKeys()) expect(key.sent).toBe(1);

    // The same command again resumes the run with what it spent: the cap is still reached, nothing more
    // is bought, and the bill over both runs stays within the cap.
    const again = await runCli(capped, { env: anthropicEnv(fake) });
    expect(again.code, again.stderr).toBe(1);
    expect(again.stderr).toContain('chimera: resuming run');
    expect(fake.bill().totalMicros).toBeLessThanOrEqual(capMicros);
    for (const key of fake.requestKeys()) expect(key.sent).toBe(1);
  });
});

describe('chimera generate: cost configuration errors', () => {
  it('an unknown model with a cap, a bad PRICES_FILE and a negative cap each give one line and exit code 2', async () => {
    const base = {
      ANTHROPIC_API_KEY: 'sk-ant-test-key-0000000000',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
    };
    const args = ['generate', '--provider', 'anthropic', '--topic', 'x'];

    const unknown = await runCli(args, {
      env: { ...base, ANTHROPIC_MODEL: 'claude-unheard-of', MAX_SPEND_USD: '5' },
    });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'chimera: ANTHROPIC_MODEL: anthropic model claude-unheard-of has no price, so MAX_SPEND_USD cannot be enforced (add "anthropic/claude-unheard-of" to PRICES_FILE)\n',
    );
    const unknownFlag = await runCli([...args, '--max-cost', '5'], {
      env: { ...base, ANTHROPIC_MODEL: 'claude-unheard-of' },
    });
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknownFlag.stderr).toContain('claude-unheard-of has no price');

    const prices = join(dir, 'bad-prices.json');
    await writeFile(
      prices,
      JSON.stringify({ version: 1, models: { 'anthropic/x': { input: 1, output: -2 } } }),
    );
    const badPrices = await runCli(args, { env: { ...base, PRICES_FILE: prices } });
    expect(badPrices.code).toBe(2);
    expect(badPrices.stderr.trim().split('\n')).toHaveLength(1);
    expect(badPrices.stderr).toMatch(/^chimera: PRICES_FILE: entry "anthropic\/x": output: /);

    const negative = await runCli(args, { env: { ...base, MAX_SPEND_USD: '-1' } });
    expect(negative.code).toBe(2);
    expect(negative.stderr).toBe(
      'chimera: MAX_SPEND_USD: expected a non-negative amount of US dollars with at most 6 decimals, e.g. 25 or 12.50 (got "-1")\n',
    );
    const negativeFlag = await runCli([...args, '--max-cost', '-1'], { env: base });
    expect(negativeFlag.code).toBe(2);
    expect(negativeFlag.stderr.trim().split('\n')).toHaveLength(1);
    expect(negativeFlag.stderr).toContain('--max-cost');
  });
});
