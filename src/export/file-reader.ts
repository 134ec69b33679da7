/**
 * Reads full (`chimera` format) records from a JSONL file, one line at a time, so an export can re-shape,
 * filter and deduplicate a file that `generate` wrote, with no Redis or Kafka. A line that is not a valid
 * record is counted and skipped, like an unreadable message on the events topic.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type ConversationRecord, conversationRecordSchema } from '../events.js';

export interface FileRecordsResult {
  records: number;
  /** Lines that are not JSON or not a record (skipped). */
  unreadable: number;
}

/** A line longer than this is not a record Chimera wrote; it is skipped without being parsed. */
export const MAX_RECORD_LINE_BYTES = 64 * 1024 * 1024;

export async function readRecordsFromFile(
  path: string,
  onRecord: (record: ConversationRecord) => Promise<void>,
): Promise<FileRecordsResult> {
  const result: FileRecordsResult = { records: 0, unreadable: 0 };
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    if (line.length > MAX_RECORD_LINE_BYTES) {
      result.unreadable += 1;
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      result.unreadable += 1;
      continue;
    }
    const parsed = conversationRecordSchema.safeParse(json);
    if (!parsed.success) {
      result.unreadable += 1;
      continue;
    }
    result.records += 1;
    await onRecord(parsed.data);
  }
  return result;
}
