/**
 * `chimera run` daemons as child processes, started the way an operator starts them (the CLI, the
 * environment for configuration), with a minimal environment so nothing of the shell leaks in.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Daemon, nodeArgs, startDaemon } from './children.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'src/cli/main.ts');

/** A directory for one run's daemon logs. */
export function logDir(runId: string): string {
  const dir = join(tmpdir(), 'chimera-bench', runId);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Starts `chimera run` with `env` (plus PATH and HOME) and any extra flags; HTTP on a free port.
 * @param name names the log file in `dir`.
 */
export function startCliDaemon(
  env: Record<string, string>,
  dir: string,
  name: string,
  flags: readonly string[] = [],
): Daemon {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  return startDaemon(
    nodeArgs(CLI, ['run', '--http-port', '0', ...flags]),
    { ...base, ...env },
    join(dir, `${name}.log`),
    ROOT,
  );
}
