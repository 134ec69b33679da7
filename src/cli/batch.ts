/**
 * One batch of conversations through an in-process `Chimera`: each topic copy started, every record
 * awaited and handed over in input order (so the same topics give the same file order), with live figures
 * for the progress display.
 */
import { createHash } from 'node:crypto';
import type { Chimera } from '../chimera.js';
import { projectRunMicros } from '../cost/projection.js';
import type { ConversationRecord, TopicMessage } from '../events.js';
import type { ProviderMetrics } from '../metrics.js';
import type { ProgressStats } from './progress.js';
import type { CheckedTopic } from './topics-input.js';

/** The longest topic id the event schemas accept. */
const MAX_TOPIC_ID_LENGTH = 200;

export interface BatchOptions {
  /** Conversations per topic. */
  copies: number;
  /**
   * Appended to every id when given. With a shared store (Redis) earlier runs, or a daemon, may have used
   * the same topic ids already, and a claimed id would never start again: a run id keeps this run's
   * conversations its own.
   */
  runId?: string;
}

/**
 * The topic messages to start: `copies` of each topic, each copy with a distinct id (`${id}#${i}` from
 * 1 when there is more than one copy), ids that repeat (the same topic given twice) started once.
 */
export function expandTopics(topics: readonly CheckedTopic[], options: BatchOptions): TopicMessage[] {
  const seen = new Set<string>();
  const out: TopicMessage[] = [];
  for (const topic of topics) {
    for (let i = 1; i <= options.copies; i++) {
      let id = options.copies > 1 ? `${topic.id}#${i}` : topic.id;
      if (options.runId) id = `${id}@${options.runId}`;
      if (id.length > MAX_TOPIC_ID_LENGTH)
        id = `t-${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ ...topic.message, id });
    }
  }
  return out;
}

/** Successful calls, failed calls and tokens (input plus output) from the provider metrics. */
export async function providerFigures(
  metrics: ProviderMetrics,
): Promise<Pick<ProgressStats, 'turns' | 'errors' | 'tokens'>> {
  let turns = 0;
  let errors = 0;
  let tokens = 0;
  for (const { labels, value } of (await metrics.requests.get()).values) {
    if (labels.outcome === 'success') turns += value;
    else errors += value;
  }
  for (const { labels, value } of (await metrics.tokens.get()).values) {
    if (labels.kind === 'input' || labels.kind === 'output') tokens += value;
  }
  return { turns, errors, tokens };
}

/** What a resumed run already has: conversations its output deals with, and finished records to reuse. */
export interface BatchResume {
  /** Conversations already in the output (or left out of it): not waited for, not handed over again. */
  done: ReadonlySet<string>;
  /** The final record of a conversation that finished before this process started, if it did. */
  finished(conversationId: string): Promise<ConversationRecord | undefined>;
}

/** How often a batch looks whether the spending cap has stopped it. */
const CAP_CHECK_MS = 250;

export class Batch {
  private done = 0;
  private failed = 0;
  private finishedMicros = 0;
  private skipped = 0;
  private readonly waits: Array<Promise<ConversationRecord>> = [];
  private readonly finished: Array<ConversationRecord | undefined> = [];
  private capTimer: NodeJS.Timeout | undefined;
  /** Resolves when the spending cap stops the batch: every conversation left is paused or not started. */
  private readonly capped: Promise<'capped'>;
  private stoppedByCap = false;

  constructor(
    private readonly chimera: Chimera,
    private readonly messages: readonly TopicMessage[],
    private readonly resume?: BatchResume,
  ) {
    this.capped = new Promise((resolve) => {
      this.capTimer = setInterval(() => {
        const { spending } = this.chimera.parts;
        // Intake is stopped while the cap is reached, so nothing starts; once every conversation still
        // running is paused, nothing more can happen until the cap is raised.
        if (spending.capReached && this.chimera.active === spending.pausedCount()) {
          this.stoppedByCap = true;
          clearInterval(this.capTimer);
          resolve('capped');
        }
      }, CAP_CHECK_MS);
      this.capTimer.unref();
    });
  }

  /** True when the spending cap stopped the batch before every conversation finished. */
  get cappedBeforeEnd(): boolean {
    return this.stoppedByCap;
  }

  /** Conversations the batch did not finish (paused for budget or never started). */
  get unfinished(): number {
    return this.waits.length - this.done;
  }

  get total(): number {
    return this.messages.length;
  }

  /**
   * Queues every topic. Each conversation is given `timeoutMs` to finish; it always ends by itself within
   * the conversation timeout once started, so this only guards against one that never starts.
   */
  async start(timeoutMs: number): Promise<void> {
    const ids = new Set<string>();
    for (const message of this.messages) {
      // Every topic is queued, in the same order each time, even those a resume already has: a shared
      // store's topic claims know each one by its position in this queue.
      const conversationId = await this.chimera.startNewConversation(message);
      if (ids.has(conversationId)) continue;
      ids.add(conversationId);
      if (this.resume?.done.has(conversationId)) {
        this.skipped += 1;
        continue;
      }
      const known = await this.resume?.finished(conversationId);
      const wait = known ? Promise.resolve(known) : this.chimera.waitFor(conversationId, timeoutMs);
      const index = this.waits.length;
      wait.then(
        (record) => {
          this.done += 1;
          this.finished[index] = record;
          this.finishedMicros += record.cost?.micros ?? 0;
          if (record.status !== 'ended') this.failed += 1;
        },
        () => {},
      );
      this.waits.push(wait);
    }
  }

  /**
   * Every record, in the order the topics were given, each as soon as it and those before it are done.
   * If the spending cap stops the batch first, the records finished by then, in the same order.
   */
  async *records(): AsyncGenerator<ConversationRecord> {
    try {
      for (const [index, wait] of this.waits.entries()) {
        const next = await Promise.race([wait, this.capped]);
        if (next !== 'capped') {
          yield next;
          continue;
        }
        for (const record of this.finished.slice(index)) if (record) yield record;
        return;
      }
    } finally {
      clearInterval(this.capTimer);
    }
  }

  async stats(): Promise<ProgressStats> {
    const spentMicros = this.chimera.parts.spending.ledger.totalMicros;
    const total = this.waits.length;
    const inFlight = Math.min(this.chimera.active, total - this.done);
    return {
      done: this.skipped + this.done,
      total: this.skipped + this.waits.length,
      failed: this.failed,
      ...(await providerFigures(this.chimera.parts.metrics)),
      spentMicros,
      projectedMicros: projectRunMicros({
        total,
        finished: this.done,
        inFlight,
        finishedMicros: Math.min(this.finishedMicros, spentMicros),
        inFlightMicros: Math.max(0, spentMicros - this.finishedMicros),
      }),
      capReached: this.chimera.parts.spending.capReached,
    };
  }
}
