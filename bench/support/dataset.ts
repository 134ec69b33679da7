/**
 * A large dataset file for the viewer's benchmark and browser test: `count` conversations in the `chimera`
 * format, written as a stream (never held whole), with varied termination reasons, providers, turn counts
 * and quality scores so filters have something to select.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { ConversationRecord, TerminationReason } from '../../src/events.js';

const REASONS: TerminationReason[] = ['max_turns', 'natural_end', 'repetition', 'refusal', 'timeout'];
const PROVIDERS = ['anthropic', 'gemini', 'openai'];
const WORDS =
  'the model asked about batteries and the answer weighed cost energy density safety supply chains recycling policy grids storage'.split(
    ' ',
  );

function sentence(seed: number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i += 1) out.push(WORDS[(seed * 7 + i * 13) % WORDS.length]!);
  return `${out.join(' ')}.`;
}

/** Conversation number `i` of the synthetic dataset (deterministic). */
export function syntheticRecord(i: number): ConversationRecord {
  const turns = 2 + (i % 9);
  const questioner = PROVIDERS[i % 3]!;
  const answerer = PROVIDERS[(i + 1) % 3]!;
  const startedAt = 1_750_000_000_000 + i * 1000;
  return {
    conversationId: `conv-${i}`,
    topic: {
      id: `topic-${i}`,
      title: `Topic number ${i}: ${sentence(i, 6)}`,
      source: i % 2 ? 'hackernews' : 'arxiv',
    },
    status: i % 17 === 0 ? 'timedOut' : 'ended',
    terminationReason: i % 17 === 0 ? 'timeout' : REASONS[i % 4]!,
    personas: { questioner: 'You are curious.', answerer: 'You are an expert.' },
    providers: { questioner, answerer },
    turns: Array.from({ length: turns }, (_, t) => ({
      index: t,
      speaker: t % 2 === 0 ? ('questioner' as const) : ('answerer' as const),
      provider: t % 2 === 0 ? questioner : answerer,
      model: `${t % 2 === 0 ? questioner : answerer}-model`,
      text: `${sentence(i + t, 30)} ${sentence(i * 3 + t, 40)}`,
      usage: { inputTokens: 200 + t * 40, outputTokens: 80 + (i % 50) },
      latencyMs: 300 + ((i * 31 + t) % 900),
      attempts: 1,
      requestId: `req-${i}-${t}`,
      at: startedAt + t * 1000,
    })),
    quality: {
      turns,
      distinct1: 0.5,
      distinct2: 0.7,
      repetitionRatio: 0.1,
      meanTurnLength: 60,
      totalTokens: 3000,
      meanLatencyMs: 600,
      score: ((i * 37) % 100) / 100,
    },
    simulated: false,
    startedAt,
    endedAt: startedAt + turns * 1000,
  };
}

/** Writes `count` records to `path`, one per line; resolves with the bytes written. */
export async function writeSyntheticDataset(path: string, count: number): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  for (let i = 0; i < count; i += 1) {
    const line = `${JSON.stringify(syntheticRecord(i))}\n`;
    bytes += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}
