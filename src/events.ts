import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  discardShape,
  provenanceSchema,
  topicMetadataSchema,
  turnProvenanceShape,
} from './provenance/schema.js';
import { topicIdSchema, topicSourceSchema, topicUrlSchema } from './provenance/topic-fields.js';
import { extractMetadata } from './provenance/topic-metadata.js';

/**
 * The typed event map: every topic Chimera produces or consumes and the zod schema of its payload,
 * shared by producer and consumer. Topic keys are logical; config maps them to physical topic names.
 */

export const usageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadTokens: z.number().int().nonnegative().optional(),
  cacheWriteTokens: z.number().int().nonnegative().optional(),
});

/** What one model call cost: exact micro-dollars, and whether it had a price (see `src/cost/ledger.ts`). */
export const turnCostSchema = z.object({
  micros: z.number().int().nonnegative(),
  /** `unpriced`: no price was known, `micros` is 0 and not a cost; `free`: simulated or self-hosted. */
  status: z.enum(['priced', 'free', 'unpriced']),
});

/** The cost block of a record or an event (`usd` for people and tools, `micros` exact). */
export const costSummarySchema = z.object({
  usd: z.number().nonnegative(),
  micros: z.number().int().nonnegative(),
  byProvider: z.record(
    z.string(),
    z.object({ usd: z.number().nonnegative(), micros: z.number().int().nonnegative() }),
  ),
  /** `provider/model` of every call that had no price: its cost is not in the total. */
  unpriced: z.array(z.string()),
});

export const topicSchema = z.object({
  id: z.string().min(1).max(200),
  title: z.string().min(1),
  source: z.string().max(200).optional(),
  url: z.string().max(2000).optional(),
  /** The topic message's extra fields (see `src/provenance/topic-metadata.ts`). */
  metadata: topicMetadataSchema.optional(),
});

export const speakerSchema = z.enum(['questioner', 'answerer']);

export const turnSchema = z.object({
  index: z.number().int().nonnegative(),
  speaker: speakerSchema,
  provider: z.string(),
  model: z.string(),
  text: z.string(),
  usage: usageSchema,
  latencyMs: z.number().nonnegative(),
  /** Calls it took, retries included. */
  attempts: z.number().int().positive(),
  requestId: z.string(),
  at: z.number(),
  /** What the call cost, from the usage the provider reported. Absent in turns recorded before it existed. */
  cost: turnCostSchema.optional(),
  ...turnProvenanceShape,
});

/** A generated turn that was not kept (a repetition regenerated or ending the conversation, a refusal). */
export const discardedTurnSchema = turnSchema.extend(discardShape);

/**
 * A model call that may have reached its provider and whose answer was lost with the process that made it
 * (killed while the call was in flight). Its turn was asked for again under the next generation, so no
 * request went out twice under one (conversation, turn, generation). Its cost is unknown: at most
 * `worstCaseMicros` (what was reserved for it, which the budget counts as lapsed), and not in `cost`.
 */
export const lostCallSchema = z.object({
  turnIndex: z.number().int().nonnegative(),
  generation: z.number().int().nonnegative(),
  /** Epoch ms the loss was found (the conversation was restored and no answer was recorded). */
  at: z.number(),
  /** The call's worst case as its reservation priced it (0: free or unpriced). */
  worstCaseMicros: z.number().int().nonnegative(),
});

export const terminationReasonSchema = z.enum([
  'max_turns',
  'natural_end',
  'repetition',
  'refusal',
  'timeout',
  'provider_failed',
  'cancelled',
  'crashed',
]);

/**
 * The judge's rubric: each criterion scored 1 (poor) to 5 (excellent) with a short rationale. What each
 * one asks is in `src/judge/rubric.ts`; docs/dataset.md lists them.
 */
export const JUDGE_CRITERIA = ['coherence', 'helpfulness', 'factualCare', 'naturalness', 'onTopic'] as const;
export type JudgeCriterion = (typeof JUDGE_CRITERIA)[number];

/** Longest rationale kept, per criterion and overall: a judge that writes an essay is cut, not refused. */
export const JUDGE_RATIONALE_MAX = 600;

export const criterionScoreSchema = z.object({
  score: z.number().int().min(1).max(5),
  rationale: z.string().max(JUDGE_RATIONALE_MAX),
});

const criterionShape = Object.fromEntries(JUDGE_CRITERIA.map((c) => [c, criterionScoreSchema])) as {
  [K in JudgeCriterion]: typeof criterionScoreSchema;
};

/** The scores of every criterion. */
export const judgeScoresSchema = z.object(criterionShape);

/**
 * `quality.judge` of a record: the judge's scores, their mean (`overall`, 1-5) and its rationale; or
 * `unjudged` with the reason (the judge failed, answered malformed JSON every time, or was cancelled).
 * `usage` is what the judge's calls used, in a turn's shape, so the cost ledger prices it like a turn.
 */
export const judgeSchema = z.object({
  status: z.enum(['judged', 'unjudged']),
  /** The judge's provider and the model that answered (absent when no call was made). */
  provider: z.string().optional(),
  model: z.string().optional(),
  scores: judgeScoresSchema.optional(),
  /** Mean of the criterion scores, two decimals. */
  overall: z.number().min(1).max(5).optional(),
  rationale: z.string().max(JUDGE_RATIONALE_MAX).optional(),
  /** Why it is unjudged. */
  reason: z.string().optional(),
  usage: usageSchema,
  /** What the judge's calls cost, summed exactly (in the record's `cost` too). Absent before costs existed. */
  cost: turnCostSchema.optional(),
  /** Model calls made, retries included. */
  attempts: z.number().int().nonnegative(),
  /** Epoch ms of the judgement (absent when the judge never answered). */
  at: z.number().optional(),
});

export const qualitySchema = z.object({
  turns: z.number().int().nonnegative(),
  distinct1: z.number().min(0).max(1),
  distinct2: z.number().min(0).max(1),
  repetitionRatio: z.number().min(0).max(1),
  meanTurnLength: z.number().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
  meanLatencyMs: z.number().nonnegative(),
  score: z.number().min(0).max(1),
  /** Turns cut off at the token limit. */
  truncatedTurns: z.number().int().nonnegative().optional(),
  /** The factors the score was multiplied by (see `computeQuality`). */
  factors: z.object({ termination: z.number(), truncation: z.number() }).optional(),
  /** The judge's verdict, when a judge is configured (`JUDGE_PROVIDER`). */
  judge: judgeSchema.optional(),
});

export const conversationRecordSchema = z.object({
  conversationId: z.string(),
  topic: topicSchema,
  status: z.enum(['ended', 'failed', 'timedOut']),
  terminationReason: terminationReasonSchema,
  personas: z.object({ questioner: z.string(), answerer: z.string() }),
  providers: z.object({ questioner: z.string(), answerer: z.string() }),
  turns: z.array(turnSchema),
  quality: qualitySchema,
  /** True when any turn came from the simulated provider: never mistake it for real model output. */
  simulated: z.boolean(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  startedAt: z.number(),
  endedAt: z.number(),
  /** How the conversation was set up: versions, personas, style, temperature, run, seed, config hash. */
  provenance: provenanceSchema.optional(),
  /** Generated turns that were not kept, with why. */
  discarded: z.array(discardedTurnSchema).optional(),
  /** Calls lost to a crash while in flight, each asked for again under the next generation. */
  lostCalls: z.array(lostCallSchema).optional(),
  /** What every call of the conversation cost, discarded turns included (lost calls are not known). */
  cost: costSummarySchema.optional(),
});

const eventBase = {
  eventId: z.string(),
  conversationId: z.string(),
  occurredAt: z.number(),
};

export const conversationEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('conversation.started'),
    ...eventBase,
    topic: topicSchema,
    providers: z.object({ questioner: z.string(), answerer: z.string() }),
  }),
  z.object({
    type: z.literal('turn.completed'),
    ...eventBase,
    turnIndex: z.number().int(),
    turn: turnSchema,
    /** The turn's cost (also in `turn.cost`), absent for turns recorded before costs were. */
    cost: turnCostSchema.optional(),
  }),
  z.object({
    type: z.literal('conversation.ended'),
    ...eventBase,
    record: conversationRecordSchema,
    /** The conversation's cost (also in `record.cost`). */
    cost: costSummarySchema.optional(),
  }),
  z.object({ type: z.literal('conversation.failed'), ...eventBase, record: conversationRecordSchema }),
]);

/**
 * What arrives on the input topic or the Redis topic queue. `id` is optional for producers that do not
 * have one: it is then derived from the content, so the same topic sent twice starts one conversation.
 */
export const topicMessageSchema = z.preprocess(
  (value, ctx) => {
    // An own `__proto__` key (JSON.parse makes one) would never reach the metadata check: zod's copy of
    // the object drops it. It is refused here like the other reserved keys.
    if (value !== null && typeof value === 'object' && Object.hasOwn(value, '__proto__')) {
      ctx.addIssue({ code: 'custom', message: 'metadata.__proto__ is a reserved key', path: ['metadata'] });
      return z.NEVER;
    }
    return value;
  },
  z
    .object({
      id: topicIdSchema.optional(),
      title: z.string(),
      source: topicSourceSchema.optional(),
      url: topicUrlSchema.optional(),
    })
    // Fields beyond these four are kept, bounded, as `metadata` (src/provenance/topic-metadata.ts).
    .catchall(z.unknown())
    .transform((message, ctx) => {
      const { id, title, source, url, ...extra } = message;
      const extracted = extractMetadata(extra);
      if (!extracted.ok) {
        ctx.addIssue({ code: 'custom', message: extracted.reason, path: ['metadata'] });
        return z.NEVER;
      }
      return {
        ...(id === undefined ? {} : { id }),
        title,
        ...(source === undefined ? {} : { source }),
        ...(url === undefined ? {} : { url }),
        ...(extracted.metadata ? { metadata: extracted.metadata } : {}),
      };
    }),
);

export type Usage = z.infer<typeof usageSchema>;
export type TurnCost = z.infer<typeof turnCostSchema>;
export type CostSummary = z.infer<typeof costSummarySchema>;
export type Topic = z.infer<typeof topicSchema>;
export type Speaker = z.infer<typeof speakerSchema>;
export type Turn = z.infer<typeof turnSchema>;
export type DiscardedTurn = z.infer<typeof discardedTurnSchema>;
export type LostCall = z.infer<typeof lostCallSchema>;
export type TerminationReason = z.infer<typeof terminationReasonSchema>;
export type QualityMetrics = z.infer<typeof qualitySchema>;
export type JudgeVerdict = z.infer<typeof judgeSchema>;
export type JudgeScores = z.infer<typeof judgeScoresSchema>;
export type ConversationRecord = z.infer<typeof conversationRecordSchema>;
export type ConversationEvent = z.infer<typeof conversationEventSchema>;
export type TopicMessage = z.output<typeof topicMessageSchema>;

/**
 * A provider's circuit-breaker state as one daemon reported it, shared through the `BreakerStateStore`
 * (in Redis, the hash `<prefix>:breakers`): `chimera status` shows it, and a daemon starting later starts
 * its breaker from it (`resilience/breaker-restore.ts`).
 */
export const breakerReportSchema = z.object({
  state: z.enum(['closed', 'open', 'halfOpen']),
  /** Epoch ms of the report (the state change, or the start of publishing). */
  since: z.number(),
  /** The daemon that reported it (its lease owner id). */
  instance: z.string(),
  /** Consecutive retryable failures counted by that daemon's breaker. */
  failures: z.number().int().nonnegative(),
  /** Epoch ms the breaker last opened; null while closed. */
  openedAt: z.number().nullable(),
  /** When an open breaker lets one probe through. */
  cooldownMs: z.number().nonnegative(),
  /**
   * The breaker's versioned persisted snapshot (`resilience/breaker-snapshot.ts`), validated only when a
   * breaker is started from it, so a report from another build still shows in `status`. Absent in reports
   * written before it was added.
   */
  persisted: z.unknown().optional(),
});

export type BreakerReport = z.infer<typeof breakerReportSchema>;

/** Logical topic -> payload type. */
export interface EventTopics {
  events: ConversationEvent;
  topics: TopicMessage;
}

export const eventTopicSchemas: { [K in keyof EventTopics]: z.ZodType<EventTopics[K]> } = {
  events: conversationEventSchema,
  topics: topicMessageSchema,
};

/** Topics that carry bytes as they came, unvalidated: dead letters keep the original message. */
export type RawTopic = 'deadLetter';

/** Header names on every event, so consumers can dedupe and fence without parsing the value. */
export const EVENT_HEADERS = {
  eventId: 'chimera-event-id',
  eventType: 'chimera-event-type',
  conversationId: 'chimera-conversation-id',
  turnIndex: 'chimera-turn-index',
  fencingToken: 'chimera-fencing-token',
  deadLetterReason: 'chimera-dead-letter-reason',
  deadLetterTopic: 'chimera-dead-letter-topic',
  deadLetterPartition: 'chimera-dead-letter-partition',
  deadLetterOffset: 'chimera-dead-letter-offset',
  /** Size in bytes of a message dead-lettered as too large (only its first bytes travel on). */
  deadLetterSize: 'chimera-dead-letter-size',
  /** Hex sha256 of the whole of a message dead-lettered as too large. */
  deadLetterSha256: 'chimera-dead-letter-sha256',
} as const;

/** The id a topic without one gets: a digest of what identifies it. */
export function deriveTopicId(message: Pick<TopicMessage, 'title' | 'source' | 'url'>): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([message.source ?? '', message.url ?? '', message.title]))
    .digest('hex');
  return `t-${digest.slice(0, 32)}`;
}

/**
 * A topic's conversation id is derived from the topic id, so the same topic delivered twice (a redelivery
 * after a crash, a duplicate message, two daemons) maps to one conversation: whoever holds its lease runs
 * it, and once its first snapshot exists it is never started again.
 */
export function conversationIdFor(topicId: string): string {
  return `c-${createHash('sha256').update(topicId).digest('hex').slice(0, 24)}`;
}

/** Deterministic per (conversation, event name): a replayed step produces the same id, so consumers can dedupe. */
export function eventIdFor(conversationId: string, name: string): string {
  return `${conversationId}:${name}`;
}
