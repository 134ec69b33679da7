/**
 * JSONL, read as bytes: the scan streams the file in large chunks, cuts lines at newline bytes (UTF-8 never
 * has 0x0A inside a character) and records each line's byte offset and length, so a row is read back with
 * one positioned read and the file is never held whole.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { ConversationDetail } from '../model.js';
import { normalise } from './normalise.js';
import type { DatasetReader, RowPlace, ScannedRow } from './reader.js';

/** A row longer than this is skipped rather than parsed: no exported conversation comes near it. */
export const MAX_ROW_BYTES = 64 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;
const SKIPPED_LINES_KEPT = 10;

export class JsonlReader implements DatasetReader {
  readonly skipped = { count: 0, lines: [] as number[] };
  private handle: FileHandle | undefined;

  constructor(readonly path: string) {}

  private skip(line: number): void {
    this.skipped.count += 1;
    if (this.skipped.lines.length < SKIPPED_LINES_KEPT) this.skipped.lines.push(line);
  }

  private parse(bytes: Buffer, line: number): ConversationDetail | undefined {
    if (bytes.length > MAX_ROW_BYTES) return undefined;
    try {
      return normalise(JSON.parse(bytes.toString('utf8')), `${this.path.split('/').pop()}:${line}`);
    } catch {
      return undefined;
    }
  }

  async *scan(): AsyncIterable<ScannedRow> {
    this.skipped.count = 0;
    this.skipped.lines = [];
    let line = 0;
    let parts: Buffer[] = [];
    let partBytes = 0;
    let lineStart = 0;
    const emit = (bytes: Buffer, trueLength: number): ScannedRow | undefined => {
      line += 1;
      const start = lineStart;
      lineStart += trueLength + 1;
      if (trueLength > MAX_ROW_BYTES) {
        this.skip(line);
        return undefined;
      }
      // Blank lines and Windows line ends are not rows.
      let end = bytes.length;
      if (end > 0 && bytes[end - 1] === 0x0d) end -= 1;
      if (end === 0) return undefined;
      const detail = this.parse(bytes.subarray(0, end), line);
      if (!detail) {
        this.skip(line);
        return undefined;
      }
      return { detail, place: { line, offset: start, length: end } };
    };
    for await (const chunk of createReadStream(this.path, {
      highWaterMark: CHUNK_BYTES,
    }) as AsyncIterable<Buffer>) {
      let from = 0;
      for (;;) {
        const newline = chunk.indexOf(0x0a, from);
        if (newline === -1) break;
        let bytes = chunk.subarray(from, newline);
        const trueLength = partBytes + bytes.length;
        if (parts.length > 0) {
          bytes = trueLength > MAX_ROW_BYTES ? bytes : Buffer.concat([...parts, bytes]);
          parts = [];
        }
        partBytes = 0;
        const row = emit(bytes, trueLength);
        if (row) yield row;
        from = newline + 1;
      }
      if (from < chunk.length) {
        // Past the cap the rest of the line is dropped, not kept: one huge line cannot exhaust memory.
        if (partBytes <= MAX_ROW_BYTES) parts.push(chunk.subarray(from));
        partBytes += chunk.length - from;
      }
    }
    if (partBytes > 0) {
      const row = emit(partBytes > MAX_ROW_BYTES ? Buffer.alloc(0) : Buffer.concat(parts), partBytes);
      if (row) yield row;
    }
  }

  async read(place: RowPlace): Promise<ConversationDetail | undefined> {
    this.handle ??= await open(this.path, 'r');
    const buffer = Buffer.alloc(place.length);
    await this.handle.read(buffer, 0, place.length, place.offset);
    const detail = this.parse(buffer, place.line);
    if (detail) detail.location = { file: this.path, line: place.line };
    return detail;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
