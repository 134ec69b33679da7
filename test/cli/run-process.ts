/**
 * `chimera run` as a child process, for tests: its JSON log lines parsed as they come (LOG_LEVEL=info by
 * default, so the start-up lines with the bound ports are there), and helpers to wait for a line, find
 * the HTTP port, signal it and wait for its exit within a bound.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnCli } from '../support/cli.js';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DaemonProcess {
  child: ChildProcess;
  logs: LogLine[];
  readonly stderr: string;
  /** Resolves with the first log line `match` accepts. */
  waitForLog(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** The bound HTTP port, from the line logged as soon as the server listens. */
  httpPort(timeoutMs?: number): Promise<number>;
  exited: Promise<Exit>;
  /** Resolves with the exit, or kills the child (SIGKILL) and rejects when it outlives `timeoutMs`. */
  exitWithin(timeoutMs: number): Promise<Exit>;
}

export function startDaemon(args: string[], env: Record<string, string>): DaemonProcess {
  const child = spawnCli(['run', ...args], { env: { LOG_LEVEL: 'info', ...env } });
  const logs: LogLine[] = [];
  let stderr = '';
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 0, msg: line });
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );

  const describe = () =>
    `stderr:\n${stderr.slice(-2000)}\nlogs:\n${logs
      .map((l) => l.msg)
      .join('\n')
      .slice(-3000)}`;

  async function waitForLog(match: (line: LogLine) => boolean, what: string, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = logs.find(match);
      if (found) return found;
      if (child.exitCode !== null) throw new Error(`chimera run exited before ${what}\n${describe()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  return {
    child,
    logs,
    get stderr() {
      return stderr;
    },
    waitForLog,
    async httpPort(timeoutMs) {
      const line = await waitForLog((l) => typeof l.httpPort === 'number', 'the HTTP port', timeoutMs);
      return line.httpPort as number;
    },
    exited,
    async exitWithin(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`chimera run did not exit within ${timeoutMs}ms\n${describe()}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exited, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
