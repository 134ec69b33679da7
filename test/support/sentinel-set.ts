/**
 * A Redis Sentinel deployment of a test's own, on free ports of 127.0.0.1: one primary, its replicas and
 * a quorum of sentinels: Debian's `redis-server` and `redis-sentinel`. The data
 * nodes and the sentinels each require a password, so the configuration's two passwords are exercised.
 * Replication is Redis' usual asynchronous one: a write is acknowledged by the primary alone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../scripts/services.js';

export interface SentinelSetOptions {
  /** The name the sentinels monitor. @default 'chimera-ha' */
  name?: string;
  /** @default 1 */
  replicas?: number;
  /** @default 3 */
  sentinels?: number;
  /** How long a node may not answer before a sentinel thinks it down. @default 1000 */
  downAfterMs?: number;
  /** @default 5000 */
  failoverTimeoutMs?: number;
  /**
   * Replicas reach the primary through a proxy that holds every chunk this long before passing it on: a
   * replica this far behind, as across zones or under load. When the primary dies the proxy drops what it
   * holds, as a dead host's network would. @default 0 (direct, localhost: nothing is in flight)
   *
   * Sentinel "fixes" a replica whose master address differs from its own view once `failoverTimeoutMs` has
   * passed, which would point the replica straight at the primary: keep the failover timeout longer than
   * the run when delaying.
   */
  replicationDelayMs?: number;
}

export interface DataNode {
  port: number;
  /** `redis://:password@127.0.0.1:port` */
  url: string;
  running: boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the process hangs with its connections open, as on a host that stopped answering. */
  freeze(): void;
}

export interface SentinelSet {
  name: string;
  password: string;
  sentinelPassword: string;
  primary: DataNode;
  replicas: DataNode[];
  sentinelPorts: number[];
  /** The port the replicas replicate from: the primary's, or the delaying proxy's. */
  upstreamPort: number;
  /** The port a replica currently replicates from (its `INFO replication`). */
  replicaUpstream(replica: DataNode): Promise<number>;
  /** The variables a daemon needs to reach the set. */
  env: Record<string, string>;
  /** `host:port` of the node the sentinels currently call the master. */
  masterAddress(): Promise<string>;
  /** Resolves once the sentinels name a master other than `port`, with the time waited. */
  waitForPromotion(oldPort: number, timeoutMs: number): Promise<{ address: string; waitedMs: number }>;
  stop(): Promise<void>;
}

/**
 * A TCP proxy to 127.0.0.1:`target` delaying each chunk by `delayMs` both ways. When either side closes,
 * everything still held is dropped and both sides are closed. `close()` closes it and its connections.
 */
export async function delayProxy(target: number, delayMs: number) {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = tcpConnect(target, '127.0.0.1');
    sockets.add(inbound).add(outbound);
    let cut = false;
    const end = () => {
      cut = true;
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      from.on('data', (chunk: Buffer) => {
        setTimeout(() => {
          if (!cut) to.write(chunk);
        }, delayMs);
      });
      from.on('close', end);
      from.on('error', end);
    }
  });
  const port = await freePort();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function spawnRedis(args: string[], command = 'redis-server'): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore' });
  child.on('error', () => {});
  return child;
}

function node(port: number, password: string, child: ChildProcess): DataNode {
  return {
    port,
    url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await once(child, 'exit');
    },
    freeze() {
      child.kill('SIGSTOP');
    },
  };
}

/** Polls `probe` until it returns true or `timeoutMs` passes (then throws with `what`). */
async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`sentinel set: ${what} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function client(port: number, password: string): Redis {
  const redis = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  return redis;
}

async function ask<T>(port: number, password: string, run: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = client(port, password);
  try {
    await redis.connect();
    return await run(redis);
  } finally {
    redis.disconnect();
  }
}

export async function startSentinelSet(options: SentinelSetOptions = {}): Promise<SentinelSet> {
  const name = options.name ?? 'chimera-ha';
  const password = 'data-node-pass-7f3a';
  const sentinelPassword = 'sentinel-pass-91c2';
  const dir = mkdtempSync(join(tmpdir(), 'chimera-sentinel-'));
  const children: ChildProcess[] = [];
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const auth = ['--requirepass', password, '--masterauth', password];

  const primaryPort = await freePort();
  const primaryChild = spawnRedis(['--port', String(primaryPort), ...common, ...auth]);
  children.push(primaryChild);
  const primary = node(primaryPort, password, primaryChild);
  await until('the primary answers', 10_000, () =>
    ask(primaryPort, password, async (r) => (await r.ping()) === 'PONG'),
  );

  const replicas: DataNode[] = [];
  const proxies: Array<{ close(): void }> = [];
  let upstream = primaryPort;
  if ((options.replicationDelayMs ?? 0) > 0) {
    const proxy = await delayProxy(primaryPort, options.replicationDelayMs!);
    proxies.push(proxy);
    upstream = proxy.port;
  }
  for (let i = 0; i < (options.replicas ?? 1); i++) {
    const port = await freePort();
    const child = spawnRedis([
      '--port',
      String(port),
      ...common,
      ...auth,
      '--replicaof',
      '127.0.0.1',
      String(upstream),
    ]);
    children.push(child);
    replicas.push(node(port, password, child));
    await until('a replica is in sync', 10_000, () =>
      ask(port, password, async (r) => (await r.info('replication')).includes('master_link_status:up')),
    );
  }

  const sentinelPorts: number[] = [];
  const count = options.sentinels ?? 3;
  const quorum = Math.floor(count / 2) + 1;
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const file = join(dir, `sentinel-${port}.conf`);
    // Sentinel rewrites its file (known replicas and sentinels, epochs): one writable file each.
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `requirepass ${sentinelPassword}`,
        `sentinel sentinel-pass ${sentinelPassword}`,
        `sentinel monitor ${name} 127.0.0.1 ${primaryPort} ${quorum}`,
        `sentinel auth-pass ${name} ${password}`,
        `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5000}`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    // Debian's package `redis-sentinel` (`.ci/run` installs it).
    children.push(spawnRedis([file], 'redis-sentinel'));
    sentinelPorts.push(port);
  }
  // Ready when every sentinel knows the replicas and the other sentinels (found through hello messages).
  for (const port of sentinelPorts) {
    await until('the sentinels discover each other and the replicas', 30_000, () =>
      ask(port, sentinelPassword, async (r) => {
        const others = (await r.call('SENTINEL', 'SENTINELS', name)) as unknown[];
        const known = (await r.call('SENTINEL', 'REPLICAS', name)) as unknown[];
        return others.length === count - 1 && known.length === replicas.length;
      }),
    );
  }

  const masterAddress = async (): Promise<string> => {
    for (const port of sentinelPorts) {
      const reply = await ask(
        port,
        sentinelPassword,
        (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as Promise<string[] | null>,
      ).catch(() => null);
      if (reply) return `${reply[0]}:${reply[1]}`;
    }
    throw new Error('no sentinel answered');
  };

  return {
    name,
    password,
    sentinelPassword,
    primary,
    replicas,
    sentinelPorts,
    upstreamPort: upstream,
    replicaUpstream: (replica) =>
      ask(replica.port, password, async (r) =>
        Number(/master_port:(\d+)/.exec(await r.info('replication'))?.[1]),
      ),
    env: {
      REDIS_SENTINELS: sentinelPorts.map((port) => `127.0.0.1:${port}`).join(','),
      REDIS_SENTINEL_NAME: name,
      REDIS_PASSWORD: password,
      REDIS_SENTINEL_PASSWORD: sentinelPassword,
    },
    masterAddress,
    async waitForPromotion(oldPort, timeoutMs) {
      const started = Date.now();
      let address = '';
      await until('a replica is promoted', timeoutMs, async () => {
        address = await masterAddress();
        if (address.endsWith(`:${oldPort}`)) return false;
        // Promoted means the sentinels say so and the node itself answers as a master.
        const port = Number(address.split(':')[1]);
        return ask(port, password, async (r) => (await r.info('replication')).includes('role:master'));
      });
      return { address, waitedMs: Date.now() - started };
    },
    async stop() {
      for (const proxy of proxies) proxy.close();
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGKILL');
          await once(child, 'exit');
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
