import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { nextWorkActor } from '../../src/actors/next-work.js';
import { conversationIdFor, type Topic } from '../../src/events.js';
import { createLogger } from '../../src/logger.js';
import type { ConversationInput } from '../../src/machines/conversation.js';
import type { Work } from '../../src/machines/supervision.js';
import { persistedRecord } from '../../src/persistence/conversation-snapshot.js';
import { LeaseKeeper, MIN_ADMISSIONS_PER_PROBE } from '../../src/persistence/lease-keeper.js';
import { InMemoryEventBus } from '../../src/services/memory/event-bus.js';
import { InMemoryTopicSource } from '../../src/services/memory/topic-source.js';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { RedisTopicClaims } from '../../src/services/redis/topic-claims.js';
import { deleteKeys, uniquePrefix } from '../persistence/redis-support.js';

/**
 * The supervisor's intake against the real Redis: a backlog of topics is taken in batches (claims,
 * leases and existence checks of many topics per round trip), handed to the supervisor one per pull.
 */

const redisUrl = inject('redisUrl');
const redis = createRedis(redisUrl);
const logger = createLogger({ level: 'silent' });
const LEASE_TTL_MS = 15_000;
const OWNER = 'intake-owner';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(async () => {
  await redis.quit();
});

function setup(options: { maxConcurrent?: number; intakeOpen?: () => boolean } = {}) {
  const keyPrefix = uniquePrefix('next-work');
  const store = new RedisSnapshotStore({ redis, keyPrefix });
  const claims = new RedisTopicClaims({ redis, keyPrefix });
  const source = new InMemoryTopicSource({
    bus: new InMemoryEventBus({ logger }),
    claims,
    maxTitleLength: 500,
    logger,
    name: 'local',
  });
  const leases = new LeaseKeeper({ store, logger, leaseTtlMs: LEASE_TTL_MS });
  let looks = 0;
  const logic = nextWorkActor({
    store,
    // The real source, its looks counted.
    source: {
      next: (waitMs) => {
        looks += 1;
        return source.next(waitMs);
      },
      close: () => source.close(),
    },
    leases,
    clock: { now: () => Date.now() },
    logger,
    owner: OWNER,
    leaseTtlMs: LEASE_TTL_MS,
    pollMs: 20,
    maxConcurrent: options.maxConcurrent,
    intakeOpen: options.intakeOpen,
    buildInput: (topic: Topic, conversationId, startedAt) =>
      ({ conversationId, topic, startedAt }) as unknown as ConversationInput,
  });
  const pull = (active = 0): Promise<Work | null> =>
    toPromise(createActor(logic, { input: { active } }).start());
  const topics = (count: number) =>
    Array.from({ length: count }, (_, i) => ({ id: `topic-${i}`, title: `Tidal power, part ${i}` }));
  cleanups.push(async () => {
    leases.stopRenewal();
    await source.close();
    await deleteKeys(redis, keyPrefix);
  });
  return {
    store,
    source,
    leases,
    pull,
    topics,
    get looks() {
      return looks;
    },
    /** Whether another owner could take the conversation's lease now (nobody holds it). */
    async leasedByUs(topicId: string): Promise<boolean> {
      const conversationId = conversationIdFor(topicId);
      const other = await store.acquireLease(conversationId, 'another-owner', LEASE_TTL_MS);
      if (other) await store.releaseLease(other);
      return other === null;
    },
  };
}

describe('intake in batches', () => {
  it('one pull takes in every waiting topic (claim and lease each), then hands them over one per pull without looking again', async () => {
    const intake = setup();
    const topics = intake.topics(20);
    for (const topic of topics) intake.source.push(topic);

    const first = await intake.pull();
    expect(first?.kind).toBe('new');
    // All of them taken from the source and leased by this process in that one pull.
    expect(intake.source.waiting).toBe(0);
    expect(intake.leases.count).toBe(20);
    for (const topic of topics) expect(await intake.leasedByUs(topic.id)).toBe(true);
    const looksAfterFirst = intake.looks;

    const works = [first!];
    for (let i = 1; i < topics.length; i++) works.push((await intake.pull())!);
    expect(intake.looks).toBe(looksAfterFirst);
    expect(works.every((work) => work.kind === 'new')).toBe(true);
    expect(new Set(works.map((work) => work.conversationId))).toEqual(
      new Set(topics.map((topic) => conversationIdFor(topic.id))),
    );
    // Each one carries its topic's delivery (acknowledged once the conversation is saved).
    expect(works.every((work) => work.ownership.delivery !== undefined)).toBe(true);
    expect(await intake.pull()).toBeNull();
  });

  it('takes no more topics than the supervisor has room for', async () => {
    const intake = setup({ maxConcurrent: 8 });
    for (const topic of intake.topics(20)) intake.source.push(topic);

    expect((await intake.pull(3))?.kind).toBe('new');
    expect(intake.source.waiting).toBe(15);
    expect(intake.leases.count).toBe(5);
  });

  it('takes no more topics than the lease keeper allows before its next probe', async () => {
    const intake = setup();
    intake.leases.startRenewal();
    const backlog = MIN_ADMISSIONS_PER_PROBE * 3;
    for (const topic of intake.topics(backlog)) intake.source.push(topic);

    expect((await intake.pull())?.kind).toBe('new');
    expect(intake.leases.count).toBe(MIN_ADMISSIONS_PER_PROBE);
    expect(intake.source.waiting).toBe(backlog - MIN_ADMISSIONS_PER_PROBE);
  });

  it('a topic whose conversation exists already is acknowledged and skipped; the rest of the batch starts', async () => {
    const intake = setup();
    const topics = intake.topics(6);
    // A conversation of topic 2 was saved before (by a daemon that then lost the topic's acknowledgement).
    const conversationId = conversationIdFor(topics[2]!.id);
    const lease = await intake.store.acquireLease(conversationId, 'earlier-owner', LEASE_TTL_MS);
    await intake.store.save(lease!, persistedRecord('failed', null, Date.now()), []);
    await intake.store.releaseLease(lease!);
    for (const topic of topics) intake.source.push(topic);

    const works: Work[] = [];
    for (let work = await intake.pull(); work; work = await intake.pull()) works.push(work);
    expect(works.map((work) => work.conversationId).sort()).toEqual(
      topics
        .filter((_, i) => i !== 2)
        .map((topic) => conversationIdFor(topic.id))
        .sort(),
    );
    expect(intake.source.waiting).toBe(0);
  });

  it('on shutdown, topics taken in a batch and not handed over yet go back to the source and their leases are freed', async () => {
    const intake = setup();
    const topics = intake.topics(10);
    for (const topic of topics) intake.source.push(topic);
    const first = await intake.pull();
    expect(intake.source.waiting).toBe(0);

    await intake.leases.releaseAll();
    // The nine not handed over, and the one handed over but not started, are queued again.
    expect(intake.source.waiting).toBe(10);
    for (const topic of topics) expect(await intake.leasedByUs(topic.id)).toBe(false);
    expect(first).not.toBeNull();
  });

  it('once the spending cap closes intake, topics taken in a batch and not handed over yet go back, their leases freed', async () => {
    let open = true;
    const intake = setup({ intakeOpen: () => open });
    const topics = intake.topics(10);
    for (const topic of topics) intake.source.push(topic);
    const first = await intake.pull();
    expect(intake.source.waiting).toBe(0);

    open = false;
    expect(await intake.pull()).toBeNull();
    expect(intake.source.waiting).toBe(9);
    expect(intake.leases.count).toBe(1);
    for (const topic of topics) {
      const handedOver = conversationIdFor(topic.id) === first!.conversationId;
      expect(await intake.leasedByUs(topic.id)).toBe(handedOver);
    }
  });
});
