import type { Redis } from 'ioredis';
import type { ParkedMessage, ParkedMessages, StoredParkedMessage } from '../ports.js';

/**
 * Parked messages in a Redis stream, trimmed with `XADD ... MAXLEN ~ maxLength` so it never grows past
 * about that many entries (the oldest go first). Fields: `key`, `value` (the original bytes), `reason`,
 * `from` (JSON), `at`. Read them with `XRANGE`.
 */
export class RedisParkedMessages implements ParkedMessages {
  constructor(
    private readonly redis: Redis,
    /** The stream's key (`parkedKey(prefix)`: `<prefix>:parked`). */
    readonly key: string,
    private readonly maxLength: number,
  ) {}

  async park(message: ParkedMessage): Promise<void> {
    await this.redis.xadd(
      this.key,
      'MAXLEN',
      '~',
      this.maxLength,
      '*',
      'key',
      message.key ?? '',
      'hasKey',
      message.key === null ? '0' : '1',
      'value',
      message.value,
      'reason',
      message.reason,
      'from',
      JSON.stringify(message.from),
      'at',
      String(message.at),
    );
  }

  async read(limit: number, afterId?: string): Promise<StoredParkedMessage[]> {
    const start = afterId === undefined ? '-' : `(${afterId}`;
    const entries = await this.redis.xrangeBuffer(this.key, start, '+', 'COUNT', Math.max(1, limit));
    return entries.map(([id, fields]) => {
      const map = new Map<string, Buffer>();
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!.toString(), fields[i + 1]!);
      const text = (name: string) => map.get(name)?.toString('utf8') ?? '';
      return {
        id: id.toString(),
        key: text('hasKey') === '1' ? text('key') : null,
        value: map.get('value') ?? Buffer.alloc(0),
        reason: text('reason'),
        from: JSON.parse(text('from') || '{"topic":""}') as ParkedMessage['from'],
        at: Number(text('at')),
      };
    });
  }

  async size(): Promise<number> {
    return this.redis.xlen(this.key);
  }
}
