/**
 * Runs batches of conversations through a real `Chimera` (the library entry point, the same code the
 * daemon runs) with the simulated provider, and measures wall time, CPU time and turns made, up to the
 * moment every event has left the outbox (with Kafka: acknowledged by the broker).
 */
import { Chimera } from '../../src/chimera.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { ConversationRecord, TerminationReason } from '../../src/events.js';
import { createLogger } from '../../src/logger.js';
import { SimulatedProvider } from '../../src/services/providers/simulated/provider.js';
import { CountingProvider } from './counting-provider.js';

export interface ChimeraBenchOptions {
  /** Environment for `loadConfig` (Redis, Kafka, names, turns, concurrency). */
  env: Record<string, string>;
  /** Reply latency of the simulated provider. @default 0 */
  latencyMs?: number;
  /** Intake poll interval. @default 50 */
  pollMs?: number;
  /** Orphan scan interval. @default 1000 */
  adoptEveryMs?: number;
}

export interface BatchResult {
  conversations: number;
  turns: number;
  /** Events the relay delivered (started + turns + ended per conversation). */
  events: number;
  wallMs: number;
  /** User plus system CPU time of this process. */
  cpuMs: number;
  reasons: Partial<Record<TerminationReason, number>>;
}

export interface ChimeraBench {
  chimera: Chimera;
  config: Readonly<Config>;
  /** The simulated provider both sides use, counting completed model calls. */
  provider: CountingProvider;
  /** Final records saved since start. */
  readonly finished: number;
  /** Queues `count` new topics without waiting for them; resolves to their conversation ids. */
  queue(count: number, label: string): Promise<string[]>;
  /** Runs `count` new conversations and waits until they finished and the outbox is empty. */
  batch(count: number, label: string): Promise<BatchResult>;
  /** Drains and closes. */
  stop(): Promise<void>;
  /** Stops at once, as a crash would (nothing drained): for runs that end mid-flight. */
  kill(): Promise<void>;
}

const OUTBOX_POLL_MS = 5;

/** Topic titles that differ enough to look like a feed, not one title repeated. */
const SUBJECTS = [
  'grid-scale batteries',
  'offshore wind economics',
  'protein folding with machine learning',
  'urban heat islands',
  'open-source maintainership',
  'quantum error correction',
  'soil carbon markets',
  'antibiotic resistance',
];

export async function startChimeraBench(options: ChimeraBenchOptions): Promise<ChimeraBench> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONVERSATION_PROVIDERS: 'simulated,simulated',
    ...options.env,
  });
  const provider = new CountingProvider(new SimulatedProvider({ latencyMs: options.latencyMs ?? 0 }));
  const chimera = await Chimera.create(config, {
    logger: createLogger({ level: 'silent' }),
    intake: 'none',
    sides: ['simulated', 'simulated'],
    providerOverrides: { simulated: provider },
    pollMs: options.pollMs ?? 50,
    adoptEveryMs: options.adoptEveryMs ?? 1000,
  });
  chimera.start();
  let serial = 0;
  let finished = 0;
  chimera.onFinished(() => {
    finished += 1;
  });

  async function queue(count: number, label: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      serial += 1;
      const subject = SUBJECTS[serial % SUBJECTS.length]!;
      ids.push(
        await chimera.startNewConversation({
          id: `${label}-${serial}`,
          title: `${subject} (${label} ${serial})`,
        }),
      );
    }
    return ids;
  }

  async function outboxEmpty(): Promise<void> {
    while ((await chimera.parts.store.outboxSize()) > 0) {
      await new Promise((resolve) => setTimeout(resolve, OUTBOX_POLL_MS));
    }
  }

  return {
    chimera,
    config,
    provider,
    get finished() {
      return finished;
    },
    queue,
    async batch(count, label) {
      const deliveredBefore = chimera.parts.relay.delivered;
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const ids = await queue(count, label);
      const records: ConversationRecord[] = await Promise.all(ids.map((id) => chimera.waitFor(id)));
      await outboxEmpty();
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const reasons: Partial<Record<TerminationReason, number>> = {};
      let turns = 0;
      for (const record of records) {
        turns += record.turns.length;
        reasons[record.terminationReason] = (reasons[record.terminationReason] ?? 0) + 1;
      }
      return {
        conversations: count,
        turns,
        events: chimera.parts.relay.delivered - deliveredBefore,
        wallMs,
        cpuMs: (cpu.user + cpu.system) / 1000,
        reasons,
      };
    },
    stop: () => chimera.stop(),
    kill: () => chimera.kill(),
  };
}
