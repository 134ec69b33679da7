import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('--batch on the command line', () => {
  it('generate --batch makes every turn through the batch API (the simulated one here)', async () => {
    const result = await runCli(
      ['generate', '--batch', '--provider', 'simulated', '--topic', 'Tidal power', '--max-turns', '2'],
      {
        env: {
          LOG_LEVEL: 'silent',
          SIMULATED_BATCH_DELAY_MS: '10',
          BATCH_COLLECT_SECONDS: '0',
          BATCH_POLL_SECONDS: '1',
        },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout.trim().split('\n')[0]!) as { turns: Array<{ batch?: boolean }> };
    expect(record.turns.length).toBeGreaterThan(0);
    expect(record.turns.every((turn) => turn.batch === true)).toBe(true);
  });

  it('generate without --batch and without PROVIDER_MODE stays online', async () => {
    const result = await runCli(
      ['generate', '--topic', 'Tidal power', '--max-turns', '1', '--provider', 'simulated'],
      {
        env: { LOG_LEVEL: 'silent' },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n')[0]!).turns[0].batch).toBeUndefined();
  });
});
