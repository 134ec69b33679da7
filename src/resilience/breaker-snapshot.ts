/**
 * A breaker's state as it is stored outside the process (in its published report), so another process can
 * start its own breaker from it: the machine's own persisted snapshot in a versioned envelope, validated
 * with zod on read. A snapshot this build cannot read (another layout, another machine version, a shape
 * that does not fit) is refused, never half-restored.
 */
import type { Snapshot } from 'xstate';
import { z } from 'zod';
import { CIRCUIT_BREAKER_MACHINE_VERSION, type CircuitBreakerContext } from '../machines/circuit-breaker.js';
import type { ProviderBreaker } from './provider-breaker.js';

/** The envelope layout this build writes and reads. */
export const BREAKER_SNAPSHOT_SCHEMA_VERSION = 1;

/** What `getPersistedSnapshot()` gives for the circuit-breaker machine (it has no children). */
const machineSnapshotSchema = z.looseObject({
  status: z.literal('active'),
  value: z.union([
    z.literal('closed'),
    z.literal('open'),
    z.object({ halfOpen: z.enum(['idle', 'probing']) }),
  ]),
  context: z.object({
    threshold: z.number().int().positive(),
    cooldownMs: z.number().int().nonnegative(),
    failures: z.number().int().nonnegative(),
    openedAt: z.number().nullable(),
  }),
  historyValue: z.record(z.string(), z.unknown()),
  children: z.strictObject({}),
});

export const versionedBreakerSnapshotSchema = z.object({
  schemaVersion: z.literal(BREAKER_SNAPSHOT_SCHEMA_VERSION),
  machineVersion: z.literal(CIRCUIT_BREAKER_MACHINE_VERSION),
  snapshot: machineSnapshotSchema,
});

export type VersionedBreakerSnapshot = z.infer<typeof versionedBreakerSnapshotSchema>;

/** The breaker's persisted snapshot in its versioned envelope, ready for JSON. */
export function versionedBreakerSnapshot(breaker: ProviderBreaker): {
  schemaVersion: number;
  machineVersion: string;
  snapshot: Snapshot<unknown>;
} {
  return {
    schemaVersion: BREAKER_SNAPSHOT_SCHEMA_VERSION,
    machineVersion: CIRCUIT_BREAKER_MACHINE_VERSION,
    snapshot: breaker.getPersistedSnapshot(),
  };
}

/**
 * A validated stored snapshot, or why it is not one (for a log line). A snapshot written by another
 * machine version is refused even when its shape happens to fit: its states may not mean the same.
 */
export function parseVersionedBreakerSnapshot(
  value: unknown,
): { ok: true; value: VersionedBreakerSnapshot } | { ok: false; reason: string } {
  const parsed = versionedBreakerSnapshotSchema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0]!;
  return { ok: false, reason: `${issue.path.join('.') || 'snapshot'}: ${issue.message}` };
}

/**
 * The snapshot to start a breaker from: the stored one, put in `open` with `context` (the cool-down is
 * then re-derived from `context.openedAt` by the `TICK` the breaker sends after a restore).
 */
export function openSnapshotFrom(
  stored: VersionedBreakerSnapshot,
  context: CircuitBreakerContext,
): Snapshot<unknown> {
  const snapshot = { ...stored.snapshot, value: 'open', context: { ...context } };
  // JSON drops the `output` and `error` XState's type names (both undefined while active); a restore does
  // not read them.
  return snapshot as unknown as Snapshot<unknown>;
}
