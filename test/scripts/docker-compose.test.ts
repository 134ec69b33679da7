import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config.js';

const compose = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');

/** The `chimera` service's block: from its name to the next top-level key. */
const service = compose.slice(compose.indexOf('\n  chimera:\n'), compose.indexOf('\nvolumes:'));

/** Its `command`, a flow sequence (valid JSON), with compose's `$$` escape undone as compose does. */
const command = JSON.parse(/^ {4}command: (\[.*\])$/m.exec(service)![1]!.replaceAll('$$', '$')) as string[];

/** The names under its `environment:` map. */
const variables = [
  ...service.slice(service.indexOf('    environment:\n')).matchAll(/^ {6}([A-Z0-9_]+):/gm),
].map((match) => match[1]!);

const dir = mkdtempSync(join(tmpdir(), 'chimera-compose-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Stand-ins for npm and node that record how they were called instead of building and running.
for (const tool of ['npm', 'node']) {
  const path = join(dir, tool);
  writeFileSync(path, `#!/bin/sh\necho "${tool} $*"\n`);
  chmodSync(path, 0o755);
}

/** Runs the service's command with `env` (and the stand-ins first on PATH); its stdout and stderr. */
function runCommand(env: Record<string, string>): { stdout: string; stderr: string } {
  const [shell, ...args] = command;
  const stderrFile = join(dir, 'stderr');
  const stdout = execFileSync(shell!, [...args.slice(0, -1), `${args.at(-1)} 2>${stderrFile}`], {
    env: { PATH: `${dir}:/usr/bin:/bin`, ...env },
    encoding: 'utf8',
  });
  return { stdout, stderr: readFileSync(stderrFile, 'utf8') };
}

describe('docker-compose.yml', () => {
  it('sets only variables Chimera reads', () => {
    const known = new Set(Object.keys(envSchema.shape));
    expect(variables.length).toBeGreaterThan(0);
    expect(variables.filter((name) => !known.has(name))).toEqual([]);
  });

  it('binds the endpoints to every interface inside the container, so the published port reaches them', () => {
    expect(variables).toContain('HTTP_HOST');
    expect(service).toMatch(/^ {6}HTTP_HOST: 0\.0\.0\.0$/m);
  });

  it('without provider keys the service runs the simulated provider explicitly and says so', () => {
    const { stdout, stderr } = runCommand({});
    expect(stdout.trim().split('\n').at(-1)).toBe('node bin/chimera.js run --provider simulated');
    expect(stderr).toContain('simulated provider');
  });

  it('with a provider key (or an OpenAI-compatible base URL) the service runs the daemon on it', () => {
    const envs: Array<Record<string, string>> = [
      { ANTHROPIC_API_KEY: 'sk-ant-x' },
      { OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1' },
    ];
    for (const env of envs) {
      const { stdout } = runCommand(env);
      expect(stdout.trim().split('\n').at(-1)).toBe('node bin/chimera.js run');
    }
  });
});
