/**
 * CPU time of the Redis server and the Kafka broker, read from `/proc/<pid>/stat` (user plus system
 * time, in clock ticks of 10 ms) before and after a round, so the whole machine's cost per turn is
 * visible next to the orchestrator's own. The processes are found with `pgrep`; on a machine without
 * `/proc` or without them the figures are left out. Both servers are shared: anything else using them
 * during the round is counted too.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** `getconf CLK_TCK` on Linux. */
const TICK_MS = 10;

export type ServerName = 'redis' | 'kafka';

function pgrep(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** User plus system CPU time of a process in milliseconds, or undefined when it cannot be read. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) * TICK_MS : undefined;
  } catch {
    return undefined;
  }
}

/** The server processes of a Redis URL's port and of the Kafka broker. */
export function serverPids(redisUrl: string): Partial<Record<ServerName, number>> {
  const port = new URL(redisUrl).port || '6379';
  const redis = pgrep(`redis-server .*:${port}`)[0] ?? pgrep('^redis-server')[0];
  const kafka = pgrep('kafka\\.Kafka')[0];
  return { ...(redis ? { redis } : {}), ...(kafka ? { kafka } : {}) };
}

export interface ServerCpu {
  /** CPU milliseconds each server spent since `start`. */
  stop(): Partial<Record<ServerName, number>>;
}

/** Starts counting the servers' CPU time. */
export function serverCpu(pids: Partial<Record<ServerName, number>>): ServerCpu {
  const before: Partial<Record<ServerName, number>> = {};
  for (const [name, pid] of Object.entries(pids) as Array<[ServerName, number]>) {
    const ms = processCpuMs(pid);
    if (ms !== undefined) before[name] = ms;
  }
  return {
    stop() {
      const spent: Partial<Record<ServerName, number>> = {};
      for (const [name, start] of Object.entries(before) as Array<[ServerName, number]>) {
        const ms = processCpuMs(pids[name]!);
        if (ms !== undefined) spent[name] = ms - start;
      }
      return spent;
    },
  };
}
