import { describe, expect, it } from 'vitest';
import { formatRecord, toOpenAi, toShareGpt } from '../../src/export/formats.js';
import { record, turn } from './fixtures.js';

describe('dataset formats', () => {
  it('openai maps the questioner to user and the answerer to assistant, after the answerer persona as system', () => {
    expect(toOpenAi(record())).toEqual({
      id: 'c-0001',
      messages: [
        { role: 'system', content: 'You are a knowledgeable expert.' },
        { role: 'user', content: 'What makes offshore wind expensive to build?' },
        {
          role: 'assistant',
          content: 'Mostly the foundations and the installation vessels, which are scarce.',
        },
        { role: 'user', content: 'Will floating platforms change that?' },
        { role: 'assistant', content: 'They open deeper water, but their costs are still coming down.' },
      ],
    });
  });

  it('both chat formats carry the conversation id, so each example joins back to its full record', () => {
    const full = record({ conversationId: 'conv-join-7' });
    expect(toOpenAi(full)?.id).toBe('conv-join-7');
    expect(toShareGpt(full)?.id).toBe('conv-join-7');
    expect(Object.keys(toOpenAi(full)!)).toEqual(['id', 'messages']);
    expect(Object.keys(toShareGpt(full)!)).toEqual(['id', 'conversations']);
  });

  it('sharegpt maps the questioner to human and the answerer to gpt', () => {
    const example = toShareGpt(record());
    expect(example?.conversations.map((c) => c.from)).toEqual(['system', 'human', 'gpt', 'human', 'gpt']);
    expect(example?.conversations[2]).toEqual({
      from: 'gpt',
      value: 'Mostly the foundations and the installation vessels, which are scarce.',
    });
  });

  it('system: false leaves the persona out of both chat formats', () => {
    expect(toOpenAi(record(), { system: false })?.messages[0]?.role).toBe('user');
    expect(toShareGpt(record(), { system: false })?.conversations[0]?.from).toBe('human');
  });

  it('a closing question nobody answered is dropped, so every example ends on the assistant', () => {
    const turns = [turn(0, 'Why now?'), turn(1, 'Because costs fell.'), turn(2, 'Thanks, that was helpful!')];
    const messages = toOpenAi(record({ turns }))!.messages;
    expect(messages.at(-1)).toEqual({ role: 'assistant', content: 'Because costs fell.' });
    expect(messages).toHaveLength(3);
  });

  it('a conversation without any answer has no chat example', () => {
    const turns = [turn(0, 'Why now?')];
    expect(toOpenAi(record({ turns }))).toBeNull();
    expect(toShareGpt(record({ turns }))).toBeNull();
  });

  it('two turns from one side in a row are merged instead of breaking the alternation', () => {
    const turns = [
      turn(0, 'First question?'),
      turn(1, 'An answer.'),
      turn(2, 'A second part of the answer.', 'answerer'),
    ];
    expect(toOpenAi(record({ turns }), { system: false })!.messages).toEqual([
      { role: 'user', content: 'First question?' },
      { role: 'assistant', content: 'An answer.\n\nA second part of the answer.' },
    ]);
  });

  it('the chimera format is the full record with per-turn provenance', () => {
    const full = record();
    const out = formatRecord(full, 'chimera');
    expect(out).toBe(full);
    expect(full.turns[1]).toMatchObject({ provider: 'gemini', model: 'gemini-2.5-flash', attempts: 1 });
  });
});
