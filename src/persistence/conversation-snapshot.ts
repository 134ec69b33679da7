/**
 * A conversation as the store keeps it: the conversation machine's persisted XState snapshot (`value`,
 * `context`, children) in the versioned record, and the way back from a stored record to the context a
 * restored conversation starts from (`conversationMachine`'s `{ restore }` input). A record this build
 * cannot restore (another machine version, a context of the wrong shape, a finished conversation) is
 * refused with the reason, never half-restored.
 */
import { z } from 'zod';
import { InvalidSnapshotError } from '../errors.js';
import {
  discardedTurnSchema,
  judgeSchema,
  lostCallSchema,
  qualitySchema,
  terminationReasonSchema,
  topicSchema,
  turnSchema,
} from '../events.js';
import { CONVERSATION_MACHINE_VERSION, type ConversationContext } from '../machines/conversation.js';
import { provenanceSchema } from '../provenance/schema.js';
import type { ConversationStatus, SnapshotRecord, StoredSnapshot } from '../services/ports.js';
import { SNAPSHOT_SCHEMA_VERSION } from './snapshot-codec.js';

const sides = z.object({ questioner: z.string(), answerer: z.string() });

/**
 * The context `CONVERSATION_MACHINE_VERSION` persists, checked against the machine's own type. Fields this
 * build does not know are let through (a restore keeps the context exactly as it was stored).
 */
const contextSchema: z.ZodType<ConversationContext> = z.looseObject({
  conversationId: z.string().min(1),
  topic: topicSchema,
  providers: sides,
  personas: sides,
  settings: z.object({
    maxTurns: z.number().int().positive(),
    minTurns: z.number().int().nonnegative(),
    timeoutMs: z.number().positive(),
    maxTokensPerTurn: z.number().int().positive(),
    temperature: z.number(),
  }),
  startedAt: z.number(),
  turns: z.array(turnSchema),
  pending: turnSchema.optional(),
  nudge: z.boolean(),
  nudges: z.number().int().nonnegative(),
  status: z.enum(['active', 'ended', 'failed', 'timedOut']),
  terminationReason: terminationReasonSchema.optional(),
  quality: qualitySchema.optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  endedAt: z.number().optional(),
  provenance: provenanceSchema.optional(),
  discarded: z.array(discardedTurnSchema).optional(),
  judge: judgeSchema.optional(),
  inFlight: z
    .object({
      turnIndex: z.number().int().nonnegative(),
      generation: z.number().int().nonnegative(),
      recovered: z.literal(true).optional(),
    })
    .optional(),
  lostCalls: z.array(lostCallSchema).optional(),
});

/** The record one write stores: the snapshot's persisted form under this build's versions. */
export function persistedRecord(status: ConversationStatus, persisted: unknown, now: number): SnapshotRecord {
  return {
    schemaVersion: SNAPSHOT_SCHEMA_VERSION,
    machineVersion: CONVERSATION_MACHINE_VERSION,
    status,
    snapshot: persisted,
    updatedAt: now,
  };
}

/**
 * The context to restore an adopted conversation from.
 * @throws {InvalidSnapshotError} when the record was written by another machine version, its context does
 *   not have the shape this machine persists, or the conversation is not active.
 */
export function restorableContext(stored: StoredSnapshot): ConversationContext {
  const id = stored.conversationId;
  if (stored.machineVersion !== CONVERSATION_MACHINE_VERSION) {
    throw new InvalidSnapshotError(
      id,
      `written by ${stored.machineVersion}; this build restores ${CONVERSATION_MACHINE_VERSION} only`,
    );
  }
  const context = (stored.snapshot as { context?: unknown } | null)?.context;
  const parsed = contextSchema.safeParse(context);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidSnapshotError(id, `context ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if (parsed.data.status !== 'active') {
    throw new InvalidSnapshotError(id, `the conversation is ${parsed.data.status}, not active`);
  }
  // Checked, and restored as stored: nothing the schema would normalise is changed on the way back.
  return context as ConversationContext;
}
