import { describe, expect, it } from 'vitest';
import { newConversationInput } from '../../src/app/supervisor.js';
import { loadConfig } from '../../src/config.js';

const topic = { id: 't-1', title: 'Tidal power' };

describe('a conversation’s deadline in batch mode', () => {
  it('is the sum of its turn windows (BATCH_MAX_WAIT_HOURS a turn) when a side runs in batch mode', () => {
    const config = loadConfig({
      ANTHROPIC_API_KEY: 'sk-ant-test-key-0000000000',
      ANTHROPIC_MODE: 'batch',
      MAX_CONVERSATION_TURNS: '6',
      BATCH_MAX_WAIT_HOURS: '2',
    });
    const input = newConversationInput(config, ['anthropic', 'simulated'])(topic, 'c-1', 0);
    expect(input.settings.timeoutMs).toBe(6 * 2 * 3_600_000);
  });

  it('stays CONVERSATION_TIMEOUT_SECONDS online', () => {
    const config = loadConfig({
      ANTHROPIC_API_KEY: 'sk-ant-test-key-0000000000',
      CONVERSATION_TIMEOUT_SECONDS: '90',
    });
    const input = newConversationInput(config, ['anthropic', 'anthropic'])(topic, 'c-1', 0);
    expect(input.settings.timeoutMs).toBe(90_000);
  });
});
