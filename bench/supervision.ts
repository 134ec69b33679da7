/**
 * The cost of supervision alone: the real supervisor and shard machines, with an intake that always has
 * work and conversations that do nothing but hold their slot until `in-flight` newer ones have started,
 * then are reported settled to their shard, as the persistence that follows them does. No model, no persistence, no store: the CPU
 * time per conversation is what starting, routing, stopping and counting one conversation costs at that
 * many in flight. Not part of `npm run bench` (it has no goal); it is how the shard capacity was chosen.
 *
 *   node --import tsx bench/supervision.ts [--in-flight=N] [--conversations=N] [--shard-capacity=N]
 */
import { type AnyActorRef, createActor, fromPromise } from 'xstate';
import type {
  ConversationInput,
  ConversationMachine,
  ConversationStart,
} from '../src/machines/conversation.js';
import type { Work } from '../src/machines/supervision.js';
import { DEFAULT_SHARD_CAPACITY, supervisorMachine } from '../src/machines/supervisor.js';
import { supervisorShardMachine } from '../src/machines/supervisor-shard.js';
import { intOption } from './support/options.js';
import { emit, note } from './support/report.js';

const BENCH = 'supervision';
const sizes = {
  inFlight: intOption('in-flight', 5000, 1000),
  conversations: intOption('conversations', 20_000, 5000),
  shardCapacity: intOption('shard-capacity', DEFAULT_SHARD_CAPACITY),
};
const total = sizes.conversations + sizes.inFlight;

let serial = 0;
let settled = 0;
let finish: () => void = () => {};
const finished = new Promise<void>((resolve) => {
  finish = resolve;
});
const nextWork = fromPromise<Work | null, { active: number }>(async () => {
  if (serial >= total) return new Promise<never>(() => {});
  const conversationId = `c${serial++}`;
  return {
    kind: 'new',
    conversationId,
    input: { conversationId } as ConversationInput,
    ownership: { conversationId, lease: { conversationId, owner: 'bench', token: 1, expiresAt: 0 } },
  };
});
/** A conversation that only holds its slot (no machine: what is measured is supervision). */
const conversation = fromPromise<unknown, ConversationStart>(
  () => new Promise<never>(() => {}),
) as unknown as ConversationMachine;
/** Conversations started and not yet reported settled, oldest first, with the shard that runs each. */
const holding: Array<{ id: string; shard: AnyActorRef }> = [];
/** Stands in for persistence following each conversation: reports the oldest settled once enough are held. */
const follow = ({ self }: { self: AnyActorRef }, { work }: { work: Work }) => {
  holding.push({ id: work.conversationId, shard: self });
  if (holding.length > sizes.inFlight) {
    const oldest = holding.shift()!;
    // As persistence does: a later turn of the event loop, to the conversation's shard.
    setImmediate(() => {
      oldest.shard.send({ type: 'CONVERSATION_SETTLED', conversationId: oldest.id });
      settled += 1;
      if (settled === sizes.conversations) finish();
    });
  }
};

const supervisor = createActor(
  supervisorMachine.provide({
    actors: {
      nextWork,
      shard: supervisorShardMachine.provide({ actors: { conversation }, actions: { follow } }),
    },
  }),
  // Room for one more than held, so the intake never waits for a slot.
  { input: { maxConcurrent: sizes.inFlight + 1, shardCapacity: sizes.shardCapacity } },
);
note(
  `${sizes.conversations} conversations through ${sizes.inFlight} in flight, shards of ${sizes.shardCapacity}`,
);
const cpuBefore = process.cpuUsage();
const startedAt = performance.now();
supervisor.start();
await finished;
const cpu = process.cpuUsage(cpuBefore);
const wallMs = performance.now() - startedAt;
const common = { inFlight: sizes.inFlight, shardCapacity: sizes.shardCapacity };
emit({
  bench: BENCH,
  metric: 'cpu_ms_per_conversation',
  value: (cpu.user + cpu.system) / 1000 / settled,
  unit: 'ms',
  ...common,
});
emit({
  bench: BENCH,
  metric: 'conversations_per_s',
  value: (settled / wallMs) * 1000,
  unit: '/s',
  ...common,
});
process.exit(0);
