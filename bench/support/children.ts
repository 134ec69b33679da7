/**
 * Child processes of a benchmark: variants measured in a fresh process each (so one variant's heap, JIT
 * state and open sockets never weigh on the next), and daemons started the way an operator starts them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { emit, type Figure, note, parseFigure } from './report.js';

/** `node --import tsx <file> <args>`, the way `npm run bench` runs the benchmarks. */
export function nodeArgs(file: string, args: readonly string[] = []): string[] {
  return ['--import', 'tsx', file, ...args];
}

/**
 * Runs `file` with `args` in a child process, re-emits every figure line it prints (so they appear as they
 * are measured) and resolves with them. Its other output goes to stderr. Rejects when it exits non-zero.
 */
export async function runFigures(
  file: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Figure[]> {
  const child = spawn(process.execPath, nodeArgs(file, args), {
    env: { ...process.env, ...env, BENCH_NO_TABLE: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const collected: Figure[] = [];
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    const figure = parseFigure(line);
    if (figure) collected.push(emit(figure));
    else if (line.trim() !== '') process.stderr.write(`${line}\n`);
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(`${file} ${args.join(' ')} exited with ${code ?? signal}`);
  return collected;
}

export interface Daemon {
  child: ChildProcess;
  /** Where its output goes, for a look after a surprising figure. */
  logFile: string;
  /** SIGTERM (drain) and wait for the exit, killing it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL, as a crash: nothing is drained or released. */
  kill(): Promise<void>;
}

/** Starts a long-running child (a daemon), its output appended to `logFile`. */
export function startDaemon(
  args: readonly string[],
  env: Record<string, string>,
  logFile: string,
  cwd?: string,
): Daemon {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = once(child, 'exit');
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM') {
      note(`daemon ${child.pid} exited with ${code ?? signal}; see ${logFile}`);
    }
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    logFile,
    async stop(graceMs = 15_000) {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (!alive()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
