/**
 * The provenance parts of a record, as zod schemas shared by the record schema in `events.ts` and its
 * readers. Every field here is optional in the record: records written before provenance existed stay
 * readable, and a reader can tell an old record from a new one by the absence of `provenance`.
 */
import { z } from 'zod';

export const promptRefSchema = z.object({
  id: z.string(),
  /** `sha256:` and 16 hex characters of the prompt text. */
  promptHash: z.string(),
});

export const provenanceSchema = z.object({
  chimeraVersion: z.string(),
  machineVersion: z.string(),
  runId: z.string(),
  seed: z.number().int(),
  configHash: z.string(),
  personas: z.object({ questioner: promptRefSchema, answerer: promptRefSchema }),
  style: promptRefSchema,
  temperature: z.number(),
});

/** Per-turn generation facts added to `turnSchema`: why the provider stopped and with what settings. */
export const turnProvenanceShape = {
  /** The provider's stop reason in one vocabulary across SDKs (`end_turn`, `max_tokens`, `refusal`, ...). */
  stopReason: z.string().optional(),
  /** Cut off at the token limit (Anthropic `max_tokens`, Gemini `MAX_TOKENS`, OpenAI `length`). */
  truncated: z.boolean().optional(),
  temperature: z.number().optional(),
  maxTokens: z.number().int().optional(),
  /** Made through the provider's batch API (half price, hours not seconds) rather than an online call. */
  batch: z.boolean().optional(),
};

export const discardReasonSchema = z.enum(['repetition', 'refusal']);

/** Why a generated turn was not kept, added to the turn's own fields. */
export const discardShape = {
  reason: discardReasonSchema,
  /** True when the turn was generated again (a nudged retry); false when its rejection ended the conversation. */
  regenerated: z.boolean(),
  detail: z.string().optional(),
};

/** Bounds of `topic.metadata`: checked on the raw message before any of it is copied. */
export const TOPIC_METADATA_LIMITS = {
  /** Serialized JSON size of all extra fields together. */
  maxBytes: 8 * 1024,
  /** Nesting depth of objects and arrays inside one field (a flat value is depth 0). */
  maxDepth: 4,
  /** Extra top-level fields. */
  maxKeys: 32,
} as const;

export const topicMetadataSchema = z.record(z.string(), z.json());

export type Provenance = z.infer<typeof provenanceSchema>;
export type DiscardReason = z.infer<typeof discardReasonSchema>;
