import { describe, expect, it } from 'vitest';
import { InvalidSnapshotError } from '../../src/errors.js';
import {
  decodeSnapshot,
  encodeSnapshot,
  SNAPSHOT_SCHEMA_VERSION,
} from '../../src/persistence/snapshot-codec.js';
import type { SnapshotRecord } from '../../src/services/ports.js';

const record: SnapshotRecord = {
  schemaVersion: SNAPSHOT_SCHEMA_VERSION,
  machineVersion: 'conversation@3',
  status: 'active',
  snapshot: { status: 'active', value: 'awaitingAnswer', context: { turns: [] } },
  updatedAt: 1_700_000_000_000,
};

function invalid(run: () => unknown): InvalidSnapshotError {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidSnapshotError) return error;
    throw error;
  }
  throw new Error('expected an InvalidSnapshotError');
}

describe('snapshot codec', () => {
  it('an encoded record decodes to the same record with its id and token', () => {
    const text = encodeSnapshot('c-1', record, 7);
    expect(decodeSnapshot('c-1', text)).toEqual({ ...record, conversationId: 'c-1', token: 7 });
  });

  it('corrupt JSON is an invalid snapshot whose message does not quote the stored text', () => {
    const error = invalid(() => decodeSnapshot('c-1', '{"secret-ish conversation text'));
    expect(error.code).toBe('invalid_snapshot');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('snapshot of conversation c-1 is invalid: stored text is not JSON');
  });

  it('an unknown schema version is refused on read', () => {
    const text = JSON.stringify({ ...record, schemaVersion: SNAPSHOT_SCHEMA_VERSION + 1, token: 1 });
    expect(invalid(() => decodeSnapshot('c-1', text)).message).toContain(
      'schemaVersion: unknown schemaVersion',
    );
  });

  it('a stored record without its snapshot or with a bad status is refused on read', () => {
    const { snapshot: _omitted, ...withoutSnapshot } = record;
    expect(
      invalid(() => decodeSnapshot('c', JSON.stringify({ ...withoutSnapshot, token: 1 }))).message,
    ).toContain('snapshot');
    expect(
      invalid(() => decodeSnapshot('c', JSON.stringify({ ...record, status: 'paused', token: 1 }))).message,
    ).toContain('status');
  });

  it('a token that is not a positive whole number is refused on read', () => {
    expect(invalid(() => decodeSnapshot('c', JSON.stringify({ ...record, token: 0 }))).message).toContain(
      'token',
    );
  });

  it('a record that could not be read back is refused on write', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(invalid(() => encodeSnapshot('c', { ...record, snapshot: circular }, 1)).message).toContain(
      'refusing to write',
    );
    expect(invalid(() => encodeSnapshot('c', { ...record, snapshot: { n: 1n } }, 1)).message).toContain(
      'refusing to write',
    );
    expect(invalid(() => encodeSnapshot('c', { ...record, schemaVersion: 0 }, 1)).message).toContain(
      'unknown schemaVersion',
    );
    expect(invalid(() => encodeSnapshot('c', { ...record, snapshot: undefined }, 1)).message).toContain(
      'snapshot',
    );
  });
});
