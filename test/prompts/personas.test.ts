import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import {
  DEFAULT_ANSWERER_PROMPT,
  DEFAULT_QUESTIONER_PROMPT,
  resolvePersonas,
} from '../../src/prompts/personas.js';

describe('resolvePersonas', () => {
  it('uses the default questioner and answerer without overrides', () => {
    expect(resolvePersonas()).toEqual({
      questioner: DEFAULT_QUESTIONER_PROMPT,
      answerer: DEFAULT_ANSWERER_PROMPT,
    });
  });

  it('the default questioner opens on the topic and asks follow-ups; the answerer explains and stays on topic', () => {
    expect(DEFAULT_QUESTIONER_PROMPT).toMatch(/open the conversation on the topic/i);
    expect(DEFAULT_QUESTIONER_PROMPT).toMatch(/follow-up/i);
    expect(DEFAULT_ANSWERER_PROMPT).toMatch(/explaining/i);
    expect(DEFAULT_ANSWERER_PROMPT).toMatch(/stay on the topic/i);
  });

  it('takes each system prompt from the configuration when it is set', () => {
    const config = loadConfig({
      QUESTIONER_SYSTEM_PROMPT: 'You are a sceptical journalist.',
      ANSWERER_SYSTEM_PROMPT: 'You are a grid engineer.',
    });
    expect(resolvePersonas(config.conversation)).toEqual({
      questioner: 'You are a sceptical journalist.',
      answerer: 'You are a grid engineer.',
    });
  });

  it('overrides one side and keeps the default for the other', () => {
    expect(resolvePersonas({ answererSystemPrompt: 'You are a grid engineer.' })).toEqual({
      questioner: DEFAULT_QUESTIONER_PROMPT,
      answerer: 'You are a grid engineer.',
    });
  });

  it('treats a blank override as unset', () => {
    expect(resolvePersonas({ questionerSystemPrompt: '   ' }).questioner).toBe(DEFAULT_QUESTIONER_PROMPT);
  });
});
