import { z } from 'zod';
import { InvalidSnapshotError } from '../errors.js';
import type { ConversationStatus, SnapshotRecord, StoredSnapshot } from '../services/ports.js';

/**
 * The one place that turns a snapshot record into stored text and back. Every adapter writes through
 * `encodeSnapshot` and reads through `decodeSnapshot`, so the memory store and the Redis store accept and
 * reject exactly the same data.
 */

/** The layout this build writes. A new layout bumps it and adds an upcaster for the old one in `decode`. */
export const SNAPSHOT_SCHEMA_VERSION = 1;

/** Layouts this build can read. */
export const KNOWN_SCHEMA_VERSIONS: ReadonlySet<number> = new Set([SNAPSHOT_SCHEMA_VERSION]);

export const CONVERSATION_STATUSES = ['active', 'ended', 'failed', 'timedOut'] as const satisfies readonly [
  ConversationStatus,
  ...ConversationStatus[],
];

export const FINISHED_STATUSES = [
  'ended',
  'failed',
  'timedOut',
] as const satisfies readonly ConversationStatus[];
export type FinishedStatus = (typeof FINISHED_STATUSES)[number];

export function isFinished(status: ConversationStatus): status is FinishedStatus {
  return status !== 'active';
}

const storedSchema = z.object({
  schemaVersion: z
    .number()
    .int()
    .refine((v) => KNOWN_SCHEMA_VERSIONS.has(v), { error: 'unknown schemaVersion' }),
  machineVersion: z.string().min(1),
  status: z.enum(CONVERSATION_STATUSES),
  // `z.unknown()` would accept a missing field; a record without its snapshot cannot be restored.
  snapshot: z.unknown().refine((v) => v !== undefined, { error: 'snapshot is missing' }),
  updatedAt: z.number().finite(),
  token: z.number().int().positive(),
});

function describe(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${path}${issue.message}`;
}

/**
 * The stored text of one write: `{schemaVersion, machineVersion, status, snapshot, updatedAt, token}`.
 * @throws {InvalidSnapshotError} when the record would not read back (unknown schema version, no snapshot,
 *   a value JSON cannot hold).
 */
export function encodeSnapshot(conversationId: string, record: SnapshotRecord, token: number): string {
  const candidate = {
    schemaVersion: record.schemaVersion,
    machineVersion: record.machineVersion,
    status: record.status,
    snapshot: record.snapshot,
    updatedAt: record.updatedAt,
    token,
  };
  const checked = storedSchema.safeParse(candidate);
  if (!checked.success)
    throw new InvalidSnapshotError(conversationId, `refusing to write: ${describe(checked.error)}`);
  let text: string;
  try {
    text = JSON.stringify(candidate);
  } catch (error) {
    // Circular structures and BigInt values cannot be stored; say which conversation, keep the cause.
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidSnapshotError(conversationId, `refusing to write: ${reason}`);
  }
  return text;
}

/**
 * Parses and validates stored text.
 * @throws {InvalidSnapshotError} on corrupt JSON, an unknown schema version or a wrong shape.
 */
export function decodeSnapshot(conversationId: string, text: string): StoredSnapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // The parser's message quotes the corrupt text, which may hold conversation content: keep it out.
    throw new InvalidSnapshotError(conversationId, 'stored text is not JSON');
  }
  const parsed = storedSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidSnapshotError(conversationId, describe(parsed.error));
  const { schemaVersion, machineVersion, status, snapshot, updatedAt, token } = parsed.data;
  return { conversationId, schemaVersion, machineVersion, status, snapshot, updatedAt, token };
}
