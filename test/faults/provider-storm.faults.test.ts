/**
 * Provider fault storm: the daemon talks to a fake Anthropic and a fake Gemini (one local server, the real
 * SDKs on the daemon's side, fake keys) that answer 20% of model calls with a 429 carrying retry-after, a
 * 529, a 500 or a hang, plus a few-second burst in which every Anthropic call is overloaded. The server's
 * request log is the witness: retries never come before their retry-after, a refused request (400) is
 * never sent again, and the breaker opens in the burst and closes after it. A second scenario answers
 * every call with a spend-limit 429: each conversation fails cleanly after exactly one request.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRandom } from '../../src/services/providers/simulated/random.js';
import type { FakeBehaviour, ReceivedRequest } from '../../tools/fake-provider/behaviours.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { Daemon, metricValue } from './support/daemon.js';
import { produce } from './support/kafka-io.js';
import { bodyMentions, callsByTurn } from './support/requests.js';
import {
  Cleanups,
  daemonEnv,
  daemonsCleanup,
  type Names,
  scenarioNames,
  sleep,
  topicMessages,
} from './support/scenario.js';
import { bySize } from './support/size.js';
import {
  finalRecords,
  outcomeFigures,
  outcomes,
  publishFigures,
  settled,
  verdict,
} from './support/verdict.js';

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

const STUCK_AFTER_MS = 180_000;
const REJECT_MARK = 'refusedbythetest';

/** The daemon on real SDKs: Anthropic asks, Gemini answers, both at the fake server with fake keys. */
function sdkEnv(names: Names, fake: FakeProviderServer, extra: Record<string, string> = {}) {
  return daemonEnv(names, {
    ANTHROPIC_API_KEY: 'sk-ant-fault-suite-not-a-real-key-000000',
    GOOGLE_API_KEY: 'AIzaFaultSuiteNotARealKey00000000000',
    ANTHROPIC_BASE_URL: fake.urls.anthropic,
    GOOGLE_GEMINI_BASE_URL: fake.urls.gemini,
    CONVERSATION_PROVIDERS: 'anthropic,gemini',
    // The fake server enforces no quota of its own: keep the shared limiter out of the way.
    ANTHROPIC_RPM: '1000000',
    GEMINI_RPM: '1000000',
    ANTHROPIC_TPM: '1000000000',
    GEMINI_TPM: '1000000000',
    LEASE_TTL_SECONDS: '5',
    MAX_CONVERSATION_TURNS: '8',
    MIN_CONVERSATION_TURNS: '4',
    ...extra,
  });
}

async function fakeServer(respond: (request: ReceivedRequest) => FakeBehaviour | undefined) {
  const fake = await startFakeProviderServer({ latencyMs: 30, respond, maxLoggedRequests: 200_000 });
  cleanups.add(() => fake.close());
  return fake;
}

describe('provider fault storm', () => {
  const CONVERSATIONS = bySize(100, 30);
  const REJECTED = bySize(5, 2);

  it(`with 20% of calls failing (429 with retry-after, 529, 500, hang) and an overload burst, all ${CONVERSATIONS} conversations finish; no retry comes before its retry-after, refused calls are not retried, and the breaker opens and closes`, async () => {
    const random = createRandom(20_251_125);
    const retryAfterBySeq = new Map<number, number>();
    let burstUntil = 0;
    const fake = await fakeServer((request) => {
      if (request.operation !== 'generate') return undefined;
      if (request.dialect === 'anthropic' && Date.now() < burstUntil) return { type: 'overloaded' };
      if (bodyMentions(request, REJECT_MARK))
        return { type: 'bad_request', message: 'refused by the fault suite' };
      const r = random();
      if (r < 0.05) {
        const seconds = r < 0.025 ? 1 : 2;
        retryAfterBySeq.set(request.seq, seconds);
        return { type: 'rate_limited', retryAfterSeconds: seconds };
      }
      if (r < 0.1) return { type: 'overloaded' };
      if (r < 0.15) return { type: 'server_error' };
      if (r < 0.2) return { type: 'hang' };
      return undefined;
    });
    const names = scenarioNames(cleanups);
    const env = sdkEnv(names, fake, {
      PROVIDER_TIMEOUT_SECONDS: '2',
      RETRY_MAX_ATTEMPTS: '8',
      RETRY_BASE_DELAY_MS: '200',
      RETRY_MAX_DELAY_SECONDS: '2',
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: '5',
      CIRCUIT_BREAKER_COOLDOWN_SECONDS: '2',
      MAX_CONCURRENT_CONVERSATIONS: '20',
    });
    const daemon = new Daemon({
      name: 'storm',
      env,
      args: ['run', '--http-port', '0', '--drain-timeout', '5'],
    });
    daemonsCleanup(cleanups, [daemon], 'provider-storm');
    await daemon.start();

    const topics = topicMessages(names, CONVERSATIONS, 'storm');
    const rejected = topics.slice(0, REJECTED).map((topic) => ({
      ...topic,
      message: {
        key: topic.id,
        value: JSON.stringify({ id: topic.id, title: `Storm topic ${topic.id} ${REJECT_MARK}` }),
      },
    }));
    const all = [...rejected, ...topics.slice(REJECTED)];
    await produce(
      inject('kafkaBrokers'),
      names.env.KAFKA_TOPIC_INPUT,
      all.map((t) => t.message),
    );

    // The breaker's state as /metrics shows it, sampled through the run.
    const breakerStates: number[] = [];
    const sampler = setInterval(() => {
      daemon
        .metrics()
        .then((text) => {
          const state = metricValue(text, 'chimera_provider_circuit_state', { provider: 'anthropic' });
          if (breakerStates.at(-1) !== state) breakerStates.push(state);
        })
        .catch(() => {});
    }, 200);
    cleanups.add(async () => clearInterval(sampler));

    await sleep(6_000);
    burstUntil = Date.now() + 4_000;
    const settleMs = await settled({
      redisUrl: inject('redisUrl'),
      prefix: names.prefix,
      expected: CONVERSATIONS,
      timeoutMs: STUCK_AFTER_MS,
    });
    const metrics = await daemon.metrics();
    clearInterval(sampler);

    const { report, messages } = await verdict(
      inject('kafkaBrokers'),
      names.env.KAFKA_TOPIC_EVENTS,
      all.map((t) => t.id),
    );
    const records = finalRecords(messages);
    const requests = fake.requests();
    const groups = callsByTurn(requests);

    // Retry-after: the next call of the same turn comes no sooner than the wait the 429 asked for.
    const early: string[] = [];
    let checked = 0;
    let minMarginMs = Number.POSITIVE_INFINITY;
    // Non-retryable: a refused call (400) is never sent again.
    const retriedAfterRefusal: number[] = [];
    for (const calls of groups.values()) {
      for (const [i, call] of calls.entries()) {
        const next = calls[i + 1];
        if (call.status === 400 && next) retriedAfterRefusal.push(next.seq);
        const seconds = retryAfterBySeq.get(call.seq);
        if (seconds === undefined || call.status !== 429 || !next) continue;
        checked += 1;
        const margin = next.at - (call.respondedAt ?? call.at) - seconds * 1000;
        minMarginMs = Math.min(minMarginMs, margin);
        if (margin < 0) early.push(`#${call.seq} -> #${next.seq}: ${margin}ms early`);
      }
    }
    const behaviours: Record<string, number> = {};
    for (const request of requests) {
      if (request.operation !== 'generate') continue;
      const key = request.clientClosed ? `${request.behaviour}(client gave up)` : String(request.behaviour);
      behaviours[key] = (behaviours[key] ?? 0) + 1;
    }
    const breakerLog = daemon
      .logged('circuit breaker for anthropic is')
      .map((line) => String(line.msg).split(' ').at(-1));
    const ends = outcomes(messages);
    publishFigures('provider-storm', report, {
      conversations: CONVERSATIONS,
      refusedTopics: REJECTED,
      modelCalls: [...groups.values()].reduce((sum, calls) => sum + calls.length, 0),
      turnsCalled: groups.size,
      ...Object.fromEntries(Object.entries(behaviours).map(([k, v]) => [`answer:${k}`, v])),
      retriesSeen: metricValue(metrics, 'chimera_provider_retries_total'),
      retryAfterChecked: checked,
      retryAfterEarly: early.length,
      retryAfterMinMarginMs: Number.isFinite(minMarginMs) ? minMarginMs : -1,
      retriedAfterRefusal: retriedAfterRefusal.length,
      breakerTransitions: breakerLog.join('>'),
      breakerGauge: breakerStates.join('>'),
      settleMs: settleMs ?? -1,
      ...outcomeFigures(ends),
    });

    expect(report.lost).toEqual([]);

    expect(report.lostTurns).toEqual([]);

    expect(report.unannouncedTurns).toEqual([]);
    expect(report.stuck).toEqual([]);
    expect(report.forked).toEqual([]);
    expect(report.duplicateAfterDedup).toBe(0);
    expect(report.unexpected).toEqual([]);
    expect(settleMs).not.toBeNull();
    // Every fault kind was served, and the 429s were each followed by a retry that was checked.
    for (const kind of ['rate_limited', 'overloaded', 'server_error', 'hang', 'bad_request']) {
      expect(
        Object.keys(behaviours).some((key) => key.startsWith(kind)),
        kind,
      ).toBe(true);
    }
    expect(checked).toBeGreaterThan(0);
    expect(early).toEqual([]);
    expect(retriedAfterRefusal).toEqual([]);
    // Refused topics failed cleanly with the provider's verdict; every other conversation ended.
    for (const topic of rejected) {
      const record = [...records.values()].find((r) => r.topic.id === topic.id);
      expect(record?.status, topic.id).toBe('failed');
      expect(record?.terminationReason).toBe('provider_failed');
      expect(record?.error?.code).toBe('invalid_request');
    }
    expect(ends[`failed/provider_failed`]).toBe(REJECTED);
    expect(
      Object.entries(ends)
        .filter(([k]) => k.startsWith('ended/'))
        .reduce((s, [, v]) => s + v, 0),
    ).toBe(CONVERSATIONS - REJECTED);
    // The burst opened the breaker, and it closed again once calls succeeded.
    expect(breakerLog).toContain('open');
    expect(breakerLog.at(-1)).toBe('closed');
    expect(breakerStates).toContain(2);
    expect(breakerStates.at(-1)).toBe(0);
  });

  const SPEND_LIMITED = bySize(20, 8);

  it(`with every call answered by a spend-limit 429, each of ${SPEND_LIMITED} conversations fails as provider_failed/quota_exhausted after exactly one request`, async () => {
    const fake = await fakeServer((request) =>
      request.operation === 'generate' ? { type: 'spend_limit' } : undefined,
    );
    const names = scenarioNames(cleanups);
    const env = sdkEnv(names, fake, { PROVIDER_TIMEOUT_SECONDS: '5' });
    const daemon = new Daemon({
      name: 'spend',
      env,
      args: ['run', '--http-port', '0', '--drain-timeout', '5'],
    });
    daemonsCleanup(cleanups, [daemon], 'provider-spend-limit');
    await daemon.start();
    const topics = topicMessages(names, SPEND_LIMITED, 'spend');
    await produce(
      inject('kafkaBrokers'),
      names.env.KAFKA_TOPIC_INPUT,
      topics.map((t) => t.message),
    );
    const settleMs = await settled({
      redisUrl: inject('redisUrl'),
      prefix: names.prefix,
      expected: SPEND_LIMITED,
      timeoutMs: STUCK_AFTER_MS,
    });
    const metrics = await daemon.metrics();
    const { report, messages } = await verdict(
      inject('kafkaBrokers'),
      names.env.KAFKA_TOPIC_EVENTS,
      topics.map((t) => t.id),
    );
    const records = [...finalRecords(messages).values()];
    const groups = callsByTurn(fake.requests());
    const calls = [...groups.values()].reduce((sum, list) => sum + list.length, 0);
    publishFigures('provider-spend-limit', report, {
      conversations: SPEND_LIMITED,
      modelCalls: calls,
      turnsCalled: groups.size,
      retriesSeen: metricValue(metrics, 'chimera_provider_retries_total'),
      breakerGaugeAtEnd: metricValue(metrics, 'chimera_provider_circuit_state', { provider: 'anthropic' }),
      settleMs: settleMs ?? -1,
      ...outcomeFigures(outcomes(messages)),
    });

    expect(report.lost).toEqual([]);

    expect(report.lostTurns).toEqual([]);

    expect(report.unannouncedTurns).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(records).toHaveLength(SPEND_LIMITED);
    for (const record of records) {
      expect(record.status).toBe('failed');
      expect(record.terminationReason).toBe('provider_failed');
      expect(record.error?.code).toBe('quota_exhausted');
      expect(record.turns).toEqual([]);
    }
    // One request per conversation, none repeated, and a billing limit does not trip the breaker.
    expect(groups.size).toBe(SPEND_LIMITED);
    expect(calls).toBe(SPEND_LIMITED);
    expect(metricValue(metrics, 'chimera_provider_retries_total')).toBe(0);
    expect(metricValue(metrics, 'chimera_provider_circuit_state', { provider: 'anthropic' })).toBe(0);
  });
});
