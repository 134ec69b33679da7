/**
 * The one string that says where Redis is. A single node is a `redis://` or `rediss://` URL; a master
 * monitored by Redis Sentinel is a `redis-sentinel://` URL built by the configuration from
 * `REDIS_SENTINELS`, `REDIS_SENTINEL_NAME`, `REDIS_SENTINEL_PASSWORD` and `REDIS_PASSWORD`:
 *
 *   redis-sentinel://[:password@]<master name>?sentinels=host:port,host:port[&sentinelPassword=...]
 *
 * Every place that opens Redis receives this string (`createRedis`), so a daemon, its duplicated
 * connections, its readiness probe and every CLI command reach the same master through the same sentinels.
 * The passwords are URL-encoded inside it; {@link redisSecrets} returns them decoded for scrubbing.
 */

export const SENTINEL_SCHEME = 'redis-sentinel:';

export interface HostPort {
  host: string;
  port: number;
}

export interface SentinelTarget {
  /** The master name the sentinels monitor (`sentinel monitor <name> ...`). */
  name: string;
  sentinels: HostPort[];
  /** Password of the data nodes (primary and replicas). */
  password?: string;
  /** Password of the sentinels themselves (`requirepass` in sentinel.conf). */
  sentinelPassword?: string;
}

/** `host:port`, with IPv6 hosts in brackets (`[::1]:26379`). */
export function parseHostPort(text: string): HostPort | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function sentinelUrl(target: SentinelTarget): string {
  const url = new URL(`${SENTINEL_SCHEME}//${target.name}`);
  if (target.password) url.password = target.password;
  url.searchParams.set('sentinels', target.sentinels.map(formatHostPort).join(','));
  if (target.sentinelPassword) url.searchParams.set('sentinelPassword', target.sentinelPassword);
  return url.toString();
}

/** The sentinel set a `redis-sentinel://` URL names, or undefined for any other URL. */
export function parseSentinelUrl(text: string): SentinelTarget | undefined {
  if (!text.startsWith(SENTINEL_SCHEME)) return undefined;
  const url = new URL(text);
  const sentinels = (url.searchParams.get('sentinels') ?? '')
    .split(',')
    .filter(Boolean)
    .map((part) => parseHostPort(part));
  if (!url.hostname || sentinels.length === 0 || sentinels.some((s) => s === undefined)) {
    throw new Error('a redis-sentinel:// URL needs a master name and sentinels=host:port,...');
  }
  const sentinelPassword = url.searchParams.get('sentinelPassword') ?? undefined;
  return {
    name: decodeURIComponent(url.hostname),
    sentinels: sentinels as HostPort[],
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(sentinelPassword ? { sentinelPassword } : {}),
  };
}

/** Where a Redis URL points, without credentials, for messages. */
export function describeRedisUrl(text: string): string {
  try {
    const sentinel = parseSentinelUrl(text);
    if (sentinel) {
      return `master ${sentinel.name} via sentinels ${sentinel.sentinels.map(formatHostPort).join(',')}`;
    }
    const url = new URL(text);
    return `${url.hostname}:${url.port || '6379'}`;
  } catch {
    return '(unparsable Redis URL)';
  }
}

/** The passwords a Redis URL carries, decoded, to register for scrubbing. */
export function redisSecrets(text: string): string[] {
  try {
    const sentinel = parseSentinelUrl(text);
    if (sentinel) return [sentinel.password, sentinel.sentinelPassword].filter((s): s is string => !!s);
    const url = new URL(text);
    return url.password ? [url.password, decodeURIComponent(url.password)] : [];
  } catch {
    return [];
  }
}
