import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the CLI runs from here so relative paths in tests mean the same thing everywhere. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Options for one run of the CLI as a child process. */
export interface CliOptions {
  /** Variables added to the minimal child environment (PATH, HOME). @default {} */
  env?: Record<string, string>;
  /** Text written to the child's stdin, which is then closed. @default nothing (stdin closed at once) */
  input?: string;
  /** Kill the child (SIGKILL) and reject after this long, so a hung command fails its test. @default 60_000 */
  timeoutMs?: number;
  /** Working directory of the child. @default the repository root */
  cwd?: string;
}

/** What a finished run of the CLI left behind. */
export interface CliResult {
  /** The exit code; a child ended by a signal reports 128 + the signal number, as a shell would. */
  code: number;
  stdout: string;
  stderr: string;
  signal: NodeJS.Signals | null;
}

const DEFAULT_TIMEOUT_MS = 60_000;

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Only PATH and HOME come from the parent: a developer's REDIS_URL or API key must not change what a test sees.
 * LOG_LEVEL defaults to silent so logs do not interleave with what a test asserts on stderr.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LOG_LEVEL: 'silent', NO_COLOR: '1' };
  if (process.env.PATH !== undefined) env.PATH = process.env.PATH;
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME;
  return { ...env, ...extra };
}

/** Starts `node --import tsx src/cli/main.ts ...args` with the repository root as working directory. */
export function spawnCli(args: string[], options: CliOptions = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: options.cwd ?? repoRoot,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  else child.stdin?.end();
  return child;
}

/** Runs the CLI to completion and collects its exit code and output. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `chimera ${args.join(' ')} did not exit within ${timeoutMs}ms\nstderr:\n${stderr.slice(-2000)}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const exit = code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0);
      resolvePromise({ code: exit, stdout, stderr, signal });
    });
  });
}

/** Parses JSONL output into values, ignoring a trailing newline. */
export function parseJsonl(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}
