/**
 * One `chimera run` daemon as a child process, restartable: the fault scenarios kill, freeze and restart
 * it. Its logs (JSON lines on stdout) and stderr are kept across every run, so a scenario can count what
 * the daemon said (adoptions, fenced writes, breaker changes) and scan it for secrets.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { spawnCli } from '../../support/cli.js';

/** One parsed log line; lines that are not JSON keep their text in `msg`. */
export interface LogLine {
  msg?: string;
  level?: number;
  [field: string]: unknown;
}

export interface DaemonSpec {
  name: string;
  /** The child's whole environment beyond PATH and HOME (see `childEnv`). */
  env: Record<string, string>;
  /** @default ['run', '--provider', 'simulated', '--http-port', '0', '--drain-timeout', '5'] */
  args?: string[];
}

const STARTED = 'chimera daemon started';

/** How long one start may take: tsx compiles the CLI and the daemon connects to Redis and Kafka. */
const START_TIMEOUT_MS = 90_000;

export class Daemon {
  readonly name: string;
  private readonly env: Record<string, string>;
  private readonly args: string[];
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  /** Everything every run of this daemon printed. */
  stdout = '';
  stderr = '';
  readonly lines: LogLine[] = [];
  readonly exits: Array<{ code: number | null; signal: NodeJS.Signals | null }> = [];
  starts = 0;
  httpPort: number | undefined;
  paused = false;
  /** True between a start that completed and the process's exit. */
  up = false;

  constructor(spec: DaemonSpec) {
    this.name = spec.name;
    this.env = spec.env;
    this.args = spec.args ?? ['run', '--provider', 'simulated', '--http-port', '0', '--drain-timeout', '5'];
  }

  get running(): boolean {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns the daemon and resolves once it logged that it started (intake running). */
  async start(): Promise<void> {
    if (this.running) throw new Error(`daemon ${this.name} is already running`);
    const child = spawnCli(this.args, { env: this.env });
    this.child = child;
    this.starts += 1;
    this.paused = false;
    this.up = false;
    this.exited = once(child, 'exit').then(([code, signal]) => {
      this.up = false;
      this.exits.push({ code: code as number | null, signal: signal as NodeJS.Signals | null });
    });
    let partial = '';
    let started: () => void = () => {};
    const startedPromise = new Promise<void>((resolve) => (started = resolve));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) {
        if (text.trim() === '') continue;
        const line = parseLine(text);
        this.lines.push(line);
        if (typeof line.httpPort === 'number') this.httpPort = line.httpPort;
        if (typeof line.msg === 'string' && line.msg.startsWith(STARTED)) started();
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      startedPromise.then(() => 'started' as const),
      this.exited.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), START_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    this.up = outcome === 'started' && this.running;
    if (outcome !== 'started') {
      if (this.running) child.kill('SIGKILL');
      throw new Error(
        `daemon ${this.name} did not start (${outcome})\nstderr:\n${this.stderr.slice(-3000)}\nstdout:\n${this.stdout.slice(-3000)}`,
      );
    }
  }

  /** Sends `signal` and waits for the process to exit. A frozen daemon is thawed first for SIGTERM. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.child!.kill(signal);
    if (signal === 'SIGTERM' && this.paused) this.resume();
    await this.exited;
  }

  /** SIGTERM (a drain), then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 40_000): Promise<void> {
    if (!this.running) return;
    if (this.paused) this.resume();
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Freezes the process (SIGSTOP): timers, lease renewal and writes all stop until `resume`. */
  pause(): void {
    if (!this.running) return;
    this.child!.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.running) return;
    this.child!.kill('SIGCONT');
    this.paused = false;
  }

  /** The Prometheus text of the running daemon's `/metrics`. */
  async metrics(): Promise<string> {
    if (this.httpPort === undefined) throw new Error(`daemon ${this.name} has no HTTP port yet`);
    const response = await fetch(`http://127.0.0.1:${this.httpPort}/metrics`, {
      signal: AbortSignal.timeout(5000),
    });
    return response.text();
  }

  /** Log lines (of every run) whose message starts with `prefix`. */
  logged(prefix: string): LogLine[] {
    return this.lines.filter((line) => typeof line.msg === 'string' && line.msg.startsWith(prefix));
  }
}

/** Log lines of all `daemons` whose message starts with `prefix`. */
export function countLogged(daemons: readonly Daemon[], prefix: string): number {
  return daemons.reduce((sum, daemon) => sum + daemon.logged(prefix).length, 0);
}

function parseLine(text: string): LogLine {
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as LogLine;
  } catch {
    // Not a log line of ours (a stack trace from a crash): kept as text.
  }
  return { msg: text };
}

/** Stops every daemon (thawing frozen ones first); used by cleanups, so it never throws. */
export async function stopAll(daemons: readonly Daemon[]): Promise<void> {
  await Promise.all(daemons.map((daemon) => daemon.stop().catch(() => daemon.kill('SIGKILL'))));
}

/** Sum of a metric's samples whose labels include `labels`, from Prometheus text. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) {
      sum += Number(match[3]);
    }
  }
  return sum;
}
