/**
 * Secrets: the daemon runs with canary credentials (provider keys, a Redis password in REDIS_URL, a Kafka
 * SASL password against a broker that requires SASL/PLAIN) and is pushed down every path that might
 * print them: providers answering 401 with the key echoed back, 500s and 400s whose messages quote the
 * key, a Redis restart mid-run (connection errors, readiness failures), logs at trace level, and daemons
 * started with a wrong Kafka or Redis password. Afterwards the canaries are searched for in everything
 * the run left: the daemons' stdout and stderr, /readyz and /metrics answers, every message of the
 * events and dead-letter topics, and every Redis key and value.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { FakeBehaviour } from '../../tools/fake-provider/behaviours.js';
import { startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { spawnCli } from '../support/cli.js';
import { uniqueNames } from '../support/infra.js';
import { check } from './checker.js';
import { Daemon } from './support/daemon.js';
import { produce, readAll } from './support/kafka-io.js';
import { startPasswordRedis } from './support/own-redis.js';
import { startSaslBroker } from './support/sasl-broker.js';
import { Cleanups, daemonsCleanup, sleep } from './support/scenario.js';
import { bySize } from './support/size.js';
import { finalRecords, outcomeFigures, outcomes, publishFigures, settled } from './support/verdict.js';

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

const CONVERSATIONS = bySize(25, 10);
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** Every value in a Redis database, as text: keys, strings, hashes, lists, sets, sorted sets, streams. */
async function dumpRedis(redis: Redis): Promise<{ keys: number; text: string }> {
  const parts: string[] = [];
  let cursor = '0';
  let keys = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      keys += 1;
      parts.push(key);
      const type = await redis.type(key);
      if (type === 'string') parts.push((await redis.getBuffer(key))?.toString('utf8') ?? '');
      else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset')
        parts.push(JSON.stringify(await redis.zrangebyscore(key, '-inf', '+inf', 'WITHSCORES')));
      else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      else parts.push(`(unread type ${type})`);
    }
  } while (cursor !== '0');
  return { keys, text: parts.join('\n') };
}

/** Runs `chimera run` for up to `ms` (it is expected to fail on its own), then stops it; returns its output. */
async function runBriefly(
  env: Record<string, string>,
  ms: number,
): Promise<{ output: string; code: number | null }> {
  const child: ChildProcess = spawnCli(['run', '--http-port', '0', '--drain-timeout', '1'], { env });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGTERM'), ms);
  const killer = setTimeout(() => child.kill('SIGKILL'), ms + 30_000);
  const [code] = await exited;
  clearTimeout(timer);
  clearTimeout(killer);
  return { output, code: code as number | null };
}

function occurrences(haystack: string, needle: string): number {
  return needle === '' ? 0 : haystack.split(needle).length - 1;
}

describe('secrets', () => {
  it('canary provider keys, Redis password and Kafka SASL password appear nowhere: not in logs, events, dead letters, Redis or error records', async () => {
    const canary = {
      anthropicKey: `sk-ant-api03-${hex(24)}`,
      geminiKey: `gmn-canary-${hex(24)}`,
      redisPassword: `rpw-canary-${hex(16)}`,
      saslPassword: `kpw-canary-${hex(16)}`,
      wrongSaslPassword: `kpw-wrong-${hex(16)}`,
      wrongRedisPassword: `rpw-wrong-${hex(16)}`,
    };
    // The random part of each canary, so a partly scrubbed value is found too.
    const needles = Object.entries(canary).flatMap(([name, value]) => [
      { name, needle: value },
      { name: `${name} (random part)`, needle: value.slice(-24) },
    ]);

    const dir = mkdtempSync(join(tmpdir(), 'chimera-faults-secrets-'));
    cleanups.add(async () => rmSync(dir, { recursive: true, force: true }));
    let redisServer = await startPasswordRedis({ password: canary.redisPassword, dir });
    cleanups.add(() => redisServer.stop());
    const broker = await startSaslBroker(canary.saslPassword);
    cleanups.add(() => broker.stop());
    const kafka = { brokers: broker.url, sasl: { username: broker.username, password: canary.saslPassword } };

    // Cases by topic number: 401 from Anthropic (turn 0) or Gemini (turn 1), a 500 or a 400 quoting the
    // key, or a healthy conversation with a few retried 429s and 500s that quote the key too.
    const fake = await startFakeProviderServer({
      latencyMs: 10,
      respond: (request): FakeBehaviour | undefined => {
        if (request.operation !== 'generate') return undefined;
        const body = JSON.stringify(request.body);
        const quote = `upstream refused credential ${request.apiKey} (key=${request.apiKey})`;
        const match = /secret case (\d)/.exec(body);
        const kind = match ? Number(match[1]) : 4;
        if (kind === 0 && request.dialect === 'anthropic') return { type: 'unauthorized' };
        if (kind === 1 && request.dialect === 'gemini') return { type: 'unauthorized' };
        if (kind === 2) return { type: 'status', status: 500, message: quote };
        if (kind === 3) return { type: 'bad_request', message: quote };
        if (request.seq % 4 === 0) return { type: 'status', status: 500, message: quote };
        if (request.seq % 7 === 0) return { type: 'rate_limited', retryAfterSeconds: 1 };
        return undefined;
      },
    });
    cleanups.add(() => fake.close());

    const names = uniqueNames();
    const env: Record<string, string> = {
      ...names.env,
      LOG_LEVEL: 'trace',
      REDIS_URL: redisServer.url,
      KAFKA_BOOTSTRAP_SERVERS: broker.url,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: broker.username,
      KAFKA_SASL_PASSWORD: canary.saslPassword,
      ANTHROPIC_API_KEY: canary.anthropicKey,
      GOOGLE_API_KEY: canary.geminiKey,
      ANTHROPIC_BASE_URL: fake.urls.anthropic,
      GOOGLE_GEMINI_BASE_URL: fake.urls.gemini,
      CONVERSATION_PROVIDERS: 'anthropic,gemini',
      ANTHROPIC_RPM: '1000000',
      GEMINI_RPM: '1000000',
      ANTHROPIC_TPM: '1000000000',
      GEMINI_TPM: '1000000000',
      RETRY_MAX_ATTEMPTS: '3',
      // The quoting 500s open the breaker; a short cool-down keeps the run short.
      CIRCUIT_BREAKER_COOLDOWN_SECONDS: '1',
      RETRY_BASE_DELAY_MS: '50',
      PROVIDER_TIMEOUT_SECONDS: '5',
      LEASE_TTL_SECONDS: '3',
      MAX_CONVERSATION_TURNS: '4',
      MIN_CONVERSATION_TURNS: '2',
    };
    const daemon = new Daemon({
      name: 'secrets',
      env,
      args: ['run', '--http-port', '0', '--drain-timeout', '5'],
    });
    daemonsCleanup(cleanups, [daemon], 'secrets');
    await daemon.start();

    const topics = Array.from({ length: CONVERSATIONS }, (_, i) => ({
      id: `secret-${names.id}-${i}`,
      title: `Password hygiene, secret case ${i % 5}, topic ${i}`,
    }));
    await produce(kafka, names.env.KAFKA_TOPIC_INPUT, [
      ...topics.map((t) => ({ key: t.id, value: JSON.stringify(t) })),
      { key: 'broken', value: '{"title": "a dead letter' },
    ]);

    const http = async (path: string) =>
      fetch(`http://127.0.0.1:${daemon.httpPort}${path}`).then(async (r) => `${r.status} ${await r.text()}`);
    const answers: string[] = [await http('/readyz'), await http('/metrics')];
    // Redis goes away mid-run: connection errors, failed readiness, then a reconnect with the password.
    await sleep(1_500);
    await redisServer.stop();
    await sleep(1_500);
    answers.push(await http('/readyz'), await http('/metrics'));
    await sleep(1_000);
    redisServer = await startPasswordRedis({ password: canary.redisPassword, dir, port: redisServer.port });

    const settleMs = await settled({
      redisUrl: redisServer.url,
      prefix: names.prefix,
      expected: CONVERSATIONS,
      timeoutMs: 120_000,
    });
    answers.push(await http('/readyz'), await http('/metrics'));
    await daemon.stop();

    // Daemons given a wrong password: they must fail (or wait) without printing it.
    const wrongKafka = await runBriefly(
      { ...env, LOG_LEVEL: 'trace', KAFKA_SASL_PASSWORD: canary.wrongSaslPassword },
      20_000,
    );
    const wrongRedisUrl = redisServer.url.replace(
      encodeURIComponent(canary.redisPassword),
      canary.wrongRedisPassword,
    );
    const wrongRedis = await runBriefly({ ...env, LOG_LEVEL: 'trace', REDIS_URL: wrongRedisUrl }, 8_000);

    const events = await readAll(kafka, names.env.KAFKA_TOPIC_EVENTS);
    const deadLetters = await readAll(kafka, names.env.KAFKA_TOPIC_DEAD_LETTER);
    const topicText = (messages: typeof events) =>
      messages.map((m) => `${m.key}\n${m.value}\n${JSON.stringify(m.headers)}`).join('\n');
    const redis = new Redis(redisServer.url);
    const dump = await dumpRedis(redis);
    await redis.quit();
    const records = [...finalRecords(events).values()];

    const places: Record<string, string> = {
      'daemon stdout (trace logs)': daemon.stdout,
      'daemon stderr': daemon.stderr,
      '/readyz and /metrics': answers.join('\n'),
      'daemon with a wrong Kafka password': wrongKafka.output,
      'daemon with a wrong Redis password': wrongRedis.output,
      'events topic': topicText(events),
      'dead-letter topic': topicText(deadLetters),
      'Redis keys and values': dump.text,
      'error messages in records': records.map((r) => JSON.stringify(r.error ?? null)).join('\n'),
    };
    const leaks: string[] = [];
    for (const [place, text] of Object.entries(places)) {
      for (const { name, needle } of needles) {
        const found = occurrences(text, needle);
        if (found > 0) leaks.push(`${name} x${found} in ${place}`);
      }
    }
    const generate = fake.requests().filter((r) => r.operation === 'generate');
    const served = (status: number, dialect: string) =>
      generate.filter((r) => r.status === status && r.dialect === dialect).length;
    const errorCodes = [...new Set(records.flatMap((r) => (r.error ? [r.error.code] : [])))].sort();
    const report = check(
      topics.map((t) => t.id),
      events,
    );
    publishFigures('secrets', report, {
      canaries: Object.keys(canary).length,
      placesSearched: Object.keys(places).length,
      bytesSearched: Object.values(places).reduce((sum, text) => sum + text.length, 0),
      logLines: daemon.lines.length,
      redisKeysDumped: dump.keys,
      events: events.length,
      deadLetters: deadLetters.length,
      'served401:anthropic': served(401, 'anthropic'),
      'served401:gemini': served(401, 'gemini'),
      served500QuotingKey: generate.filter((r) => r.status === 500).length,
      served400QuotingKey: generate.filter((r) => r.status === 400).length,
      redisConnectionErrorsLogged: daemon.logged('redis connection error').length,
      recordErrorCodes: errorCodes.join('/'),
      wrongKafkaPasswordExit: wrongKafka.code ?? -1,
      wrongRedisPasswordExit: wrongRedis.code ?? -1,
      settleMs: settleMs ?? -1,
      leaks: leaks.length,
      ...outcomeFigures(outcomes(events)),
    });

    // The canaries were live: the providers received them, and every failure path was taken.
    expect(generate.some((r) => r.apiKey === canary.anthropicKey)).toBe(true);
    expect(generate.some((r) => r.apiKey === canary.geminiKey)).toBe(true);
    expect(served(401, 'anthropic')).toBeGreaterThan(0);
    expect(served(401, 'gemini')).toBeGreaterThan(0);
    expect(errorCodes).toEqual(expect.arrayContaining(['auth', 'invalid_request', 'server_error']));
    expect(deadLetters.length).toBeGreaterThan(0);
    expect(settleMs).not.toBeNull();
    expect(records).toHaveLength(CONVERSATIONS);
    expect(report.lost).toEqual([]);
    expect(report.lostTurns).toEqual([]);
    expect(report.unannouncedTurns).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(wrongKafka.code).not.toBe(0);
    expect(leaks).toEqual([]);
  });
});
