/**
 * The journal's record framing: `CJR1` (4 bytes) | payload length (u32, big endian) | the first 8 bytes of
 * the payload's SHA-256 | the payload (UTF-8 JSON). The magic and the checksum let a reader tell a torn
 * last record (a write cut by a power loss: nothing valid follows it) from damage in the middle (valid
 * records follow it), which is refused rather than silently dropped.
 */
import { createHash } from 'node:crypto';
import { ChimeraError } from '../../errors.js';

const MAGIC = Buffer.from('CJR1', 'latin1');
export const HEADER_BYTES = 16;
/** The largest record accepted: a conversation snapshot is far smaller; anything bigger is a bug. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

function digest(payload: Buffer): Buffer {
  return createHash('sha256').update(payload).digest().subarray(0, 8);
}

/** One record as bytes on disk. */
export function encodeFrame(record: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  if (payload.length > MAX_RECORD_BYTES) {
    throw new RangeError(
      `journal record of ${payload.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte limit`,
    );
  }
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(payload.length, 4);
  digest(payload).copy(header, 8);
  return Buffer.concat([header, payload]);
}

/** The frame at `offset`, or null when the bytes there are not a whole, intact frame. */
function frameAt(buffer: Buffer, offset: number): { payload: Buffer; end: number } | null {
  if (buffer.length - offset < HEADER_BYTES) return null;
  if (!buffer.subarray(offset, offset + 4).equals(MAGIC)) return null;
  const length = buffer.readUInt32BE(offset + 4);
  if (length > MAX_RECORD_BYTES || buffer.length - offset - HEADER_BYTES < length) return null;
  const payload = buffer.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length);
  if (!digest(payload).equals(buffer.subarray(offset + 8, offset + 16))) return null;
  return { payload, end: offset + HEADER_BYTES + length };
}

export interface DecodedSegment {
  records: unknown[];
  /** Bytes of whole, intact records from the start: the file is cut back to this. */
  validBytes: number;
  /** Bytes after the last intact record (a torn write), ignored. */
  tornBytes: number;
}

/**
 * Reads every record of a segment. A damaged tail with nothing intact after it is a torn write and is
 * ignored; an intact record after a damaged one means the middle of the file was damaged.
 * @throws {ChimeraError} `journal_corrupt` naming `name` and the offset of the damage.
 */
export function decodeSegment(buffer: Buffer, name: string): DecodedSegment {
  const records: unknown[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const frame = frameAt(buffer, offset);
    if (!frame) break;
    try {
      records.push(JSON.parse(frame.payload.toString('utf8')));
    } catch {
      // A checksum that matches unparseable JSON is not a torn write: it was written that way.
      throw new ChimeraError('journal_corrupt', `journal ${name}: record at byte ${offset} is not JSON`);
    }
    offset = frame.end;
  }
  if (offset < buffer.length) {
    for (let next = buffer.indexOf(MAGIC, offset + 1); next !== -1; next = buffer.indexOf(MAGIC, next + 1)) {
      if (frameAt(buffer, next)) {
        throw new ChimeraError(
          'journal_corrupt',
          `journal ${name}: damaged record at byte ${offset} with intact records after it (byte ${next}); the file was damaged, not cut short`,
        );
      }
    }
  }
  return { records, validBytes: offset, tornBytes: buffer.length - offset };
}
