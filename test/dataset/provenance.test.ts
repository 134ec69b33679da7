import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { conversationRecordSchema } from '../../src/events.js';
import type { ConversationContext } from '../../src/machines/conversation.js';
import { toRecord } from '../../src/records.js';
import type { GenerateRequest, GenerateResult, LlmProvider } from '../../src/services/ports.js';
import { inputFor, runConversation } from '../support/conversations.js';

const LOOP =
  'Offshore wind costs are driven mainly by foundations, installation vessels, grid connections and the financing terms developers can secure for these projects.';

/** Answers from a script: each entry is the text and stop reason of one call. */
class Scripted implements LlmProvider {
  readonly name = 'scripted';
  readonly model = 'scripted-1';
  private calls = 0;
  constructor(private readonly script: Array<[string, string]>) {}
  async start() {}
  async healthCheck() {
    return { healthy: true, latencyMs: 0 };
  }
  async generate(_request: GenerateRequest): Promise<GenerateResult> {
    const [text, stopReason] = this.script[Math.min(this.calls, this.script.length - 1)]!;
    this.calls += 1;
    return {
      text,
      model: this.model,
      stopReason,
      usage: { inputTokens: 10, outputTokens: 10 },
      latencyMs: 1,
      requestId: `r${this.calls}`,
    };
  }
}

describe('provenance in the record', () => {
  it('records each turn’s stop reason, truncation and settings, and keeps repetitive turns as discarded with why', async () => {
    const config = loadConfig({
      MAX_CONVERSATION_TURNS: '8',
      MIN_CONVERSATION_TURNS: '2',
      MAX_TOKENS_PER_TURN: '300',
    });
    const provider = new Scripted([
      ['What drives the cost of offshore wind farms today?', 'end_turn'],
      [LOOP, 'max_tokens'],
      ['Which of those costs is falling fastest, and why?', 'end_turn'],
      [LOOP, 'end_turn'], // repeats turn 1: regenerated with a nudge
      [LOOP, 'end_turn'], // and again: the conversation ends by repetition
    ]);
    const input = inputFor(config, { id: 'topic-7#2', title: 'Offshore wind' }, provider.name);
    const record = conversationRecordSchema.parse(await runConversation(input, provider));

    expect(record.terminationReason).toBe('repetition');
    expect(record.turns.map((t) => [t.stopReason, t.truncated])).toEqual([
      ['end_turn', false],
      ['max_tokens', true],
      ['end_turn', false],
    ]);
    expect(
      record.turns.every((t) => t.temperature === input.settings.temperature && t.maxTokens === 300),
    ).toBe(true);
    expect(record.discarded?.map((d) => [d.index, d.reason, d.regenerated])).toEqual([
      [3, 'repetition', true],
      [3, 'repetition', false],
    ]);
    expect(record.discarded?.[0]?.detail).toMatch(/nearly copies turn 1/);
    expect(record.quality.truncatedTurns).toBe(1);
    expect(record.quality.factors?.termination).toBe(0.6);
    expect(record.provenance).toEqual(input.provenance);
    expect(record.provenance?.machineVersion).toBe('conversation@1');
    expect(record.provenance?.chimeraVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a refusal is kept as discarded, and the conversation still ends on refusal', async () => {
    const config = loadConfig({ MAX_CONVERSATION_TURNS: '6', MIN_CONVERSATION_TURNS: '2' });
    const provider = new Scripted([
      ['What drives the cost of offshore wind farms today?', 'end_turn'],
      ["I'm sorry, but I can't help with that.", 'refusal'],
    ]);
    const record = await runConversation(
      inputFor(config, { id: 't', title: 'Offshore wind' }, provider.name),
      provider,
    );
    expect(record.terminationReason).toBe('refusal');
    expect(record.turns).toHaveLength(1);
    expect(record.discarded).toMatchObject([
      { index: 1, reason: 'refusal', regenerated: false, stopReason: 'refusal' },
    ]);
  });

  it('a context persisted before provenance existed still becomes a valid record, scored by today’s formula', () => {
    // The shape `conversation@1` snapshots had before this change: no provenance, no discarded, no stop reasons.
    const old = {
      conversationId: 'c-old',
      topic: { id: 't-old', title: 'Tides' },
      providers: { questioner: 'anthropic', answerer: 'gemini' },
      personas: { questioner: 'q', answerer: 'a' },
      settings: { maxTurns: 10, minTurns: 5, timeoutMs: 300_000, maxTokensPerTurn: 1024, temperature: 0.8 },
      startedAt: 1,
      turns: [0, 1, 2, 3].map((index) => ({
        index,
        speaker: index % 2 === 0 ? 'questioner' : 'answerer',
        provider: 'anthropic',
        model: 'm',
        text: `Turn ${index} says something different about tides and the moon, number ${index * 7}.`,
        usage: { inputTokens: 1, outputTokens: 1 },
        latencyMs: 1,
        attempts: 1,
        requestId: 'r',
        at: 2,
      })),
      nudge: false,
      nudges: 1,
      status: 'ended',
      terminationReason: 'repetition',
      quality: {
        turns: 4,
        distinct1: 1,
        distinct2: 1,
        repetitionRatio: 0,
        meanTurnLength: 12,
        totalTokens: 8,
        meanLatencyMs: 1,
        score: 1,
      },
      endedAt: 3,
    } as unknown as ConversationContext;
    const record = conversationRecordSchema.parse(toRecord(old, 4));
    expect(record.provenance).toBeUndefined();
    expect(record.discarded).toBeUndefined();
    // The stored score said 1.0; a conversation cut short by repetition no longer keeps it.
    expect(record.quality.score).toBeLessThanOrEqual(0.6);
  });
});
