import type { ConversationRecord, Speaker, Turn } from '../../src/events.js';

/** A turn as the conversation machine records it, with provenance filled in. */
export function turn(
  index: number,
  text: string,
  speaker: Speaker = index % 2 === 0 ? 'questioner' : 'answerer',
): Turn {
  return {
    index,
    speaker,
    provider: speaker === 'questioner' ? 'anthropic' : 'gemini',
    model: speaker === 'questioner' ? 'claude-sonnet-4-5' : 'gemini-2.5-flash',
    text,
    usage: { inputTokens: 100 + index, outputTokens: 40 + index },
    latencyMs: 800 + index,
    attempts: 1,
    requestId: `req-${index}`,
    at: 1_700_000_000_000 + index * 1000,
  };
}

/** A finished record: four alternating turns, ended by max_turns, quality 0.7, unless overridden. */
export function record(overrides: Partial<ConversationRecord> = {}): ConversationRecord {
  const turns = overrides.turns ?? [
    turn(0, 'What makes offshore wind expensive to build?'),
    turn(1, 'Mostly the foundations and the installation vessels, which are scarce.'),
    turn(2, 'Will floating platforms change that?'),
    turn(3, 'They open deeper water, but their costs are still coming down.'),
  ];
  return {
    conversationId: 'c-0001',
    topic: { id: 't-0001', title: 'The economics of offshore wind', source: 'hackernews' },
    status: 'ended',
    terminationReason: 'max_turns',
    personas: { questioner: 'You are a curious interviewer.', answerer: 'You are a knowledgeable expert.' },
    providers: { questioner: 'anthropic', answerer: 'gemini' },
    turns,
    quality: {
      turns: turns.length,
      distinct1: 0.8,
      distinct2: 0.9,
      repetitionRatio: 0.05,
      meanTurnLength: 12,
      totalTokens: 600,
      meanLatencyMs: 801.5,
      score: 0.7,
    },
    simulated: false,
    startedAt: 1_700_000_000_000,
    endedAt: 1_700_000_010_000,
    ...overrides,
  };
}
