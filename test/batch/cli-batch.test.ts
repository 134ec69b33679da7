import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('--batch on the command line', () => {
  it('generate --batch puts every provider with credentials in batch mode; without its batch API it stops at start, naming the variable', async () => {
    const result = await runCli(['generate', '--batch', '--topic', 'Tidal power', '--max-turns', '2'], {
      env: { ANTHROPIC_API_KEY: 'sk-ant-test-key-0000000000', LOG_LEVEL: 'silent' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ANTHROPIC_MODE');
    expect(result.stderr).toContain('batch API');
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
