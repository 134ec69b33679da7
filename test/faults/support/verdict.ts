/**
 * Waiting for a scenario's work to settle, and the verdict: the checker's report over the events topic read
 * from the beginning, printed as one summary line plus the scenario's own figures.
 */
import { appendFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { type ConversationRecord, conversationEventSchema } from '../../../src/events.js';
import { snapshotKeys } from '../../../src/services/redis/keys.js';
import { type CheckReport, check, summarize } from '../checker.js';
import { type KafkaTarget, type ReadMessage, readAll } from './kafka-io.js';

export interface StoreProgress {
  active: number;
  finished: number;
  outbox: number;
}

/** What the store says (a progress gauge only; the verdict comes from the events topic). */
export async function storeProgress(redis: Redis, prefix: string): Promise<StoreProgress> {
  const keys = snapshotKeys(prefix);
  const [active, ended, failed, timedOut, outbox] = await Promise.all([
    redis.zcard(keys.active),
    redis.zcard(keys.finished('ended')),
    redis.zcard(keys.finished('failed')),
    redis.zcard(keys.finished('timedOut')),
    redis.xlen(keys.outbox),
  ]);
  return { active, finished: ended + failed + timedOut, outbox };
}

export interface SettleOptions {
  redisUrl: string;
  prefix: string;
  /** Conversations expected to finish. */
  expected: number;
  /** How long after the faults stopped every conversation must be finished and delivered. */
  timeoutMs: number;
}

/**
 * Waits until the store holds `expected` finished conversations and an empty outbox (every event handed to
 * Kafka and acknowledged), or the time runs out. Resolves with how long it took, or null when it did not.
 */
export async function settled(options: SettleOptions): Promise<number | null> {
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
  redis.on('error', () => {});
  const started = Date.now();
  try {
    while (Date.now() - started < options.timeoutMs) {
      const progress = await storeProgress(redis, options.prefix).catch(() => null);
      if (progress && progress.finished >= options.expected && progress.outbox === 0) {
        return Date.now() - started;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return null;
  } finally {
    redis.disconnect();
  }
}

export interface Verdict {
  report: CheckReport;
  messages: ReadMessage[];
}

/** Reads the events topic from the beginning and runs the checker over it. */
export async function verdict(
  brokers: KafkaTarget,
  eventsTopic: string,
  submitted: readonly string[],
): Promise<Verdict> {
  const messages = await readAll(brokers, eventsTopic);
  return { report: check(submitted, messages), messages };
}

/** Figures a scenario prints beside the checker's line. */
export type Figures = Record<string, number | string | boolean>;

/**
 * Prints the scenario's summary line and its figures; with `FAULTS_REPORT_FILE` set, also appends them as
 * one JSON line there (how docs/reliability.md gets its table).
 */
export function publishFigures(name: string, report: CheckReport | undefined, figures: Figures): void {
  const lines = [
    ...(report ? [summarize(name, report)] : []),
    `${name} figures: ${Object.entries(figures)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ')}`,
  ];
  console.log(lines.join('\n'));
  const file = process.env.FAULTS_REPORT_FILE;
  if (file) {
    const summary = report
      ? {
          submitted: report.submitted,
          finished: report.finished,
          lost: report.lost.length,
          stuck: report.stuck.length,
          lostTurns: report.lostTurns.length,
          unannouncedTurns: report.unannouncedTurns.length,
          duplicateRaw: report.duplicateRaw,
          duplicateAfterDedup: report.duplicateAfterDedup,
          forked: report.forked.length,
          conflictingFinals: report.conflictingFinals.length,
          staleWrites: report.staleWrites.length,
          unexpected: report.unexpected.length,
        }
      : undefined;
    appendFileSync(file, `${JSON.stringify({ name, at: new Date().toISOString(), summary, figures })}\n`);
  }
}

/** Outcome counts as figures: `outcome:ended/max_turns=7`. */
export function outcomeFigures(ends: Record<string, number>): Figures {
  return Object.fromEntries(Object.entries(ends).map(([k, v]) => [`outcome:${k}`, v]));
}

/** Counts of final records by status and termination reason, e.g. `ended/max_turns=40`. */
export function outcomes(messages: readonly ReadMessage[]): Record<string, number> {
  const byConversation = new Map<string, string>();
  for (const message of messages) {
    let value: {
      type?: string;
      conversationId?: string;
      record?: { status?: string; terminationReason?: string };
    };
    try {
      value = JSON.parse(message.value) as typeof value;
    } catch {
      continue;
    }
    if (value.type !== 'conversation.ended' && value.type !== 'conversation.failed') continue;
    byConversation.set(
      value.conversationId ?? '',
      `${value.record?.status}/${value.record?.terminationReason}`,
    );
  }
  const counts: Record<string, number> = {};
  for (const outcome of byConversation.values()) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

/** The final record of each conversation (the last one read), by conversation id. */
export function finalRecords(messages: readonly ReadMessage[]): Map<string, ConversationRecord> {
  const records = new Map<string, ConversationRecord>();
  for (const message of messages) {
    const parsed = conversationEventSchema.safeParse(safeJson(message.value));
    if (!parsed.success) continue;
    const event = parsed.data;
    if (event.type === 'conversation.ended' || event.type === 'conversation.failed') {
      records.set(event.conversationId, event.record);
    }
  }
  return records;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
