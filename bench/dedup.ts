/**
 * Near-duplicate removal (`export --dedup near`): recall against brute-force Jaccard on a sample, and
 * throughput on 100,000 records.
 *
 * Records are conversations of two turns (about 150 words) drawn from a 5,000-word vocabulary; a share of
 * them are edited copies of earlier ones, at edit rates that put their shingle Jaccard on both sides of the
 * threshold. Recall: of the records whose exact Jaccard with some earlier kept record is at least the
 * threshold (found by comparing every pair), the share the deduplicator drops. Precision: of the records it
 * drops, the share that brute force agrees are duplicates.
 *
 *   node --import tsx bench/dedup.ts [--records=100000] [--sample=2000]
 */
import type { ConversationRecord } from '../src/events.js';
import { Deduplicator } from '../src/export/dedup/deduplicator.js';
import { exactJaccard, shingleHashes } from '../src/export/dedup/minhash.js';
import { conversationWords } from '../src/export/dedup/text.js';
import { createRandom } from '../src/services/providers/simulated/random.js';
import { intOption } from './support/options.js';
import { emit, note } from './support/report.js';

const BENCH = 'dedup';
const THRESHOLD = 0.8;
const sizes = { records: intOption('records', 100_000, 20_000), sample: intOption('sample', 2000, 1000) };
const VOCABULARY = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}`);
/** Share of words replaced in an edited copy: light edits stay above 0.8 Jaccard, heavy ones fall below. */
const EDIT_RATES = [0.002, 0.01, 0.02, 0.05, 0.15];

function words(random: () => number, n: number): string[] {
  return Array.from({ length: n }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)]!);
}

function toRecord(id: string, text: readonly string[]): ConversationRecord {
  const half = Math.floor(text.length / 2);
  const turn = (index: number, t: string) => ({
    index,
    speaker: index === 0 ? ('questioner' as const) : ('answerer' as const),
    provider: 'simulated',
    model: 'm',
    text: t,
    usage: { inputTokens: 0, outputTokens: 0 },
    latencyMs: 0,
    attempts: 1,
    requestId: '',
    at: 0,
  });
  return {
    conversationId: id,
    turns: [turn(0, text.slice(0, half).join(' ')), turn(1, text.slice(half).join(' '))],
  } as unknown as ConversationRecord;
}

/** `n` records, a quarter of them edited copies of an earlier one. */
function* dataset(n: number, seed: number): Generator<ConversationRecord> {
  const random = createRandom(seed);
  const recent: string[][] = [];
  for (let i = 0; i < n; i++) {
    let text: string[];
    if (recent.length > 0 && random() < 0.25) {
      const base = recent[Math.floor(random() * recent.length)]!;
      const rate = EDIT_RATES[Math.floor(random() * EDIT_RATES.length)]!;
      text = base.map((w) => (random() < rate ? VOCABULARY[Math.floor(random() * VOCABULARY.length)]! : w));
    } else {
      text = words(random, 120 + Math.floor(random() * 60));
    }
    if (recent.length < 500) recent.push(text);
    else recent[Math.floor(random() * 500)] = text;
    yield toRecord(`r${i}`, text);
  }
}

// Recall and precision against brute force on the sample.
{
  const dedup = new Deduplicator({ mode: 'near', threshold: THRESHOLD });
  const kept: Uint32Array[] = [];
  let truth = 0;
  let caught = 0;
  let dropped = 0;
  let droppedTrue = 0;
  for (const record of dataset(sizes.sample, 7)) {
    const shingles = shingleHashes(conversationWords(record));
    const isDuplicate = kept.some((k) => exactJaccard(k, shingles) >= THRESHOLD);
    const candidate = dedup.check(record);
    const flagged = candidate.verdict.kind !== 'unique';
    if (isDuplicate) truth++;
    if (isDuplicate && flagged) caught++;
    if (flagged) {
      dropped++;
      if (isDuplicate) droppedTrue++;
    } else {
      candidate.keep();
      kept.push(shingles);
    }
  }
  note(`sample of ${sizes.sample}: ${truth} duplicates by brute force, ${caught} caught, ${dropped} dropped`);
  emit({
    bench: BENCH,
    metric: 'recall',
    value: (caught / Math.max(1, truth)) * 100,
    unit: '%',
    goal: '>= 95',
    pass: caught / Math.max(1, truth) >= 0.95,
    sample: sizes.sample,
    duplicates: truth,
    threshold: THRESHOLD,
  });
  emit({
    bench: BENCH,
    metric: 'precision',
    value: (droppedTrue / Math.max(1, dropped)) * 100,
    unit: '%',
    sample: sizes.sample,
    dropped,
  });
}

// Throughput on the full size.
{
  const dedup = new Deduplicator({ mode: 'near', threshold: THRESHOLD });
  const records = [...dataset(sizes.records, 11)];
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  let dropped = 0;
  for (const record of records) {
    const candidate = dedup.check(record);
    if (candidate.verdict.kind === 'unique') candidate.keep();
    else dropped++;
  }
  const seconds = (performance.now() - started) / 1000;
  const heapAfter = process.memoryUsage().heapUsed;
  note(`${sizes.records} records in ${seconds.toFixed(1)} s, ${dropped} dropped, ${dedup.kept} kept`);
  emit({
    bench: BENCH,
    metric: 'records_per_s',
    value: sizes.records / seconds,
    unit: 'records/s',
    variant: 'near',
    records: sizes.records,
    dropped,
    kept: dedup.kept,
  });
  emit({
    bench: BENCH,
    metric: 'heap_per_kept_record',
    value: Math.max(0, heapAfter - heapBefore) / dedup.kept,
    unit: 'bytes',
    variant: 'near',
  });
}
