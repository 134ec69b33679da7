import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/services.js';
import type { Chimera } from '../../src/chimera.js';
import { cleanupsAfterAll } from '../support/cleanups.js';
import {
  collectEvents,
  configFor,
  deleteKeys,
  infraEnv,
  startChimera,
  uniqueNames,
  until,
} from '../support/infra.js';

const run = promisify(execFile);

/** A broker of this test's own, so stopping it disturbs no other test. */
async function ownBroker() {
  const [port, controllerPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    CHIMERA_KAFKA_PORT: String(port),
    CHIMERA_KAFKA_CONTROLLER_PORT: String(controllerPort),
    CHIMERA_KAFKA_RUN_DIR: mkdtempSync(join(tmpdir(), 'chimera-kafka-outage-')),
  };
  const script = (command: string) => run('bash', ['scripts/kafka.sh', command], { env, timeout: 180_000 });
  await script('start');
  return {
    url: `127.0.0.1:${port}`,
    stop: () => script('stop'),
    start: () => script('start'),
    reset: () => script('reset'),
  };
}

const cleanups = cleanupsAfterAll();

describe('Kafka outage', () => {
  it('with the broker stopped mid-run, events wait in the outbox and all arrive after it restarts', async () => {
    const broker = await ownBroker();
    cleanups.add(() => broker.reset());
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const env = infraEnv({
      ...names.env,
      KAFKA_BOOTSTRAP_SERVERS: broker.url,
      CONVERSATION_PROVIDERS: 'simulated,simulated',
      SIMULATED_LATENCY_MS: '150',
      MAX_CONVERSATION_TURNS: '8',
      MIN_CONVERSATION_TURNS: '8',
    });
    const chimera: Chimera = await startChimera(configFor(env), { intake: 'none' });
    cleanups.add(() => chimera.stop());
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        chimera.startNewConversation({ id: `outage-${i}`, title: `Outage ${i}` }),
      ),
    );
    const finished = Promise.all(ids.map((id) => chimera.waitFor(id, 120_000)));

    // Let some events through, then take the broker away while conversations are mid-flight.
    const { store } = chimera.parts;
    await until(async () => (await store.counts()).active > 0, 20_000, 'conversations running');
    await new Promise((r) => setTimeout(r, 400));
    await broker.stop();

    // Conversations go on (state is in Redis); their events pile up in the outbox.
    const records = await finished;
    const backlog = await store.outboxSize();
    expect(backlog).toBeGreaterThan(0);

    await broker.start();
    await until(
      async () => (await store.outboxSize()) === 0,
      60_000,
      'the outbox to drain after the restart',
    );

    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS, broker.url);
    cleanups.add(() => reader.stop());
    await until(() => reader.ended().length >= ids.length, 60_000, 'every ended record on the topic');
    for (const record of records) {
      const mine = reader.events.filter((e) => e.conversationId === record.conversationId);
      expect(mine.filter((e) => e.type === 'conversation.started')).toHaveLength(1);
      expect(mine.filter((e) => e.type === 'conversation.ended')).toHaveLength(1);
      const turns = mine.flatMap((e) => (e.type === 'turn.completed' ? [e.turnIndex] : []));
      expect(turns).toEqual(record.turns.map((t) => t.index));
    }
  });
});
