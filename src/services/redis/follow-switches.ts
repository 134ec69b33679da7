import { Redis } from 'ioredis';
import type { SentinelTarget } from '../../redis-url.js';

/** What a sentinel publishes when it names a new master: `<name> <old ip> <old port> <new ip> <new port>`. */
const SWITCH_CHANNEL = '+switch-master';

/**
 * Makes `client` leave a master the sentinels have replaced. A dead master's connections usually close and
 * the client asks the sentinels again on its own, but a hung or cut-off host never closes them: without
 * this the client would wait on the old master until TCP gives up. It listens on every configured sentinel
 * for `+switch-master` and tells a connected client to reconnect (ioredis sends what was unanswered again).
 *
 * ioredis has this built in (`failoverDetector`), but its detector also acts while the client is between
 * connections asking a sentinel where the master is, and that ends the client for good: every command
 * after fails with `Connection is closed.`. Here a client is only told to reconnect when it holds a
 * connection (`connect` or `ready`); one still looking asks the sentinels anyway.
 */
export function followSwitches(client: Redis, target: SentinelTarget): void {
  let lastSwitch = '';
  let listeners: Redis[] = [];
  const listen = () =>
    target.sentinels.map(({ host, port }) => {
      const listener = new Redis({
        host,
        port,
        ...(target.sentinelPassword ? { password: target.sentinelPassword } : {}),
        maxRetriesPerRequest: null,
        retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
      });
      // A sentinel that is down is retried (and resubscribed) by ioredis; the others still announce.
      listener.on('error', () => {});
      listener.subscribe(SWITCH_CHANNEL).catch(() => {});
      listener.on('message', (channel: string, message: string) => {
        const [name, ...addresses] = message.split(' ');
        if (channel !== SWITCH_CHANNEL || name !== target.name) return;
        // Every sentinel announces the same switch: act on it once.
        const change = addresses.join(' ');
        if (change === lastSwitch) return;
        lastSwitch = change;
        if (client.status === 'ready' || client.status === 'connect') client.disconnect(true);
      });
      return listener;
    });
  // Listening starts with the client's first connection (a lazy client never connected opens nothing) and
  // ends with the client.
  client.once('ready', () => {
    listeners = listen();
  });
  client.once('end', () => {
    for (const listener of listeners) listener.disconnect();
  });
}
