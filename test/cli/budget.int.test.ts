import { describe, expect, inject, it } from 'vitest';
import { RedisBudgetStore } from '../../src/cost/redis-budget-store.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { runCli } from '../support/cli.js';
import { deleteKeys, uniqueNames } from '../support/infra.js';

const cleanups = cleanupsAfterEach();

describe('chimera budget', () => {
  it('set writes the shared cap to Redis, where a running daemon reads it, and show reports the spend', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const env = { REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: names.prefix };
    const daemon = new RedisBudgetStore({ url: inject('redisUrl'), keyPrefix: names.prefix });
    cleanups.add(() => daemon.close());
    await daemon.reserve('call-1', 2_000_000);
    await daemon.settle('call-1', 1_234_567, { provider: 'anthropic', model: 'claude-sonnet-5-5' });

    const set = await runCli(['budget', 'set', '12.50'], { env });
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(set.stdout).toBe('cap set to $12.50; spent so far $1.23\n');
    expect((await daemon.snapshot()).capMicros).toBe(12_500_000);
    expect(await daemon.reserve('call-2', 11_265_434)).toMatchObject({ ok: false, reason: 'cap_reached' });

    const show = await runCli(['budget', 'show'], { env });
    expect(show.code).toBe(0);
    // The refused call needs one micro-dollar more than is left: the cap stops calls though spend is below it.
    expect(show.stdout).toContain(
      'cap: $12.50; spent $1.23, $0.000000 reserved, $11.27 left (cap reached: the last refused call needs $11.27)\n',
    );
    expect(show.stdout).toContain('  anthropic/claude-sonnet-5-5  $1.23\n');
    const json = await runCli(['budget', 'show', '--json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ capMicros: 12_500_000, spentMicros: 1_234_567 });

    expect((await runCli(['budget', 'set', 'none'], { env })).code).toBe(0);
    expect((await daemon.snapshot()).capMicros).toBeNull();
  });

  it('a negative or malformed cap, and a missing Redis, are one line and exit code 2', async () => {
    const negative = await runCli(['budget', 'set', '--', '-5'], { env: { REDIS_URL: inject('redisUrl') } });
    expect(negative.code).toBe(2);
    expect(negative.stderr.trim().split('\n')).toHaveLength(1);
    expect(negative.stderr).toMatch(/expected a non-negative amount of US dollars/);
    const noRedis = await runCli(['budget', 'show']);
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toMatch(/^chimera: budget show: the shared cap lives in Redis/);
    const badEnv = await runCli(['budget', 'show'], { env: { MAX_SPEND_USD: '-1' } });
    expect(badEnv.code).toBe(2);
    const badPrices = await runCli(['budget', 'show'], { env: { PRICES_FILE: '/nonexistent/prices.json' } });
    expect(badPrices).toMatchObject({
      code: 2,
      stderr: 'chimera: PRICES_FILE: cannot read /nonexistent/prices.json: no such file\n',
    });
    expect(badEnv.stderr).toBe(
      'chimera: MAX_SPEND_USD: expected a non-negative amount of US dollars with at most 6 decimals, e.g. 25 or 12.50 (got "-1")\n',
    );
  });
});
