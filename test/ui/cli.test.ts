import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runCli } from '../support/cli.js';

describe('web page settings', () => {
  it('parse UI_HOST, UI_PORT, UI_TOKEN and UI_ALLOWED_HOSTS, loopback and off by default', () => {
    expect(loadConfig({}).ui).toEqual({ host: '127.0.0.1', allowedHosts: [] });
    const token = 'x'.repeat(24);
    expect(
      loadConfig({
        UI_HOST: '0.0.0.0',
        UI_PORT: '8000',
        UI_TOKEN: token,
        UI_ALLOWED_HOSTS: 'Dash.internal, proxy',
      }).ui,
    ).toEqual({ host: '0.0.0.0', port: 8000, token, allowedHosts: ['dash.internal', 'proxy'] });
  });

  it('refuse a short UI_TOKEN without repeating it, and a host list with ports', () => {
    expect(() => loadConfig({ UI_TOKEN: 'short-secret' })).toThrow(
      /^UI_TOKEN: expected at least 16 characters/,
    );
    expect(() => loadConfig({ UI_TOKEN: 'short-secret' })).not.toThrow(/short-secret/);
    expect(() => loadConfig({ UI_ALLOWED_HOSTS: 'a.example/path' })).toThrow(/UI_ALLOWED_HOSTS/);
  });
});

describe('chimera view and run --ui on the command line', () => {
  it('view names the path when there is nothing to open (exit 2)', async () => {
    const result = await runCli(['view', 'no/such/dataset.jsonl']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('chimera: path: no/such/dataset.jsonl: no such file or folder\n');
  });

  it('run --ui refuses to listen beyond loopback without UI_TOKEN (exit 2, before anything starts)', async () => {
    const result = await runCli(['run', '--provider', 'simulated', '--http-port', '0', '--ui'], {
      env: { UI_HOST: '0.0.0.0' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^chimera: UI_HOST: listening on 0\.0\.0\.0 .*set UI_TOKEN/);
  });

  it('run --inspect on a public interface needs UI_TOKEN too', async () => {
    const result = await runCli([
      'run',
      '--provider',
      'simulated',
      '--http-port',
      '0',
      '--inspect',
      '--inspect-host',
      '0.0.0.0',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^chimera: --inspect-host: /);
  });
});
