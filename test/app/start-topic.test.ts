/**
 * A topic given in-process that the intake would dead-letter is refused by `startNewConversation` at once,
 * with the intake's reason: no conversation id is handed out for a conversation that will never start, so no
 * `waitFor` waits for one until its timeout. A topic the intake takes still starts and finishes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Chimera } from '../../src/chimera.js';
import { loadConfig } from '../../src/config.js';
import { isChimeraError } from '../../src/errors.js';
import type { TopicMessage } from '../../src/events.js';
import { createLogger } from '../../src/logger.js';
import { SimulatedProvider } from '../../src/services/providers/simulated/provider.js';

let running: Chimera | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function start(env: Record<string, string> = {}): Promise<Chimera> {
  const config = loadConfig({ MAX_CONVERSATION_TURNS: '2', MIN_CONVERSATION_TURNS: '2', ...env });
  running = (
    await Chimera.create(config, {
      logger: createLogger({ level: 'silent' }),
      intake: 'none',
      providerOverrides: { simulated: new SimulatedProvider({ latencyMs: 1 }) },
      pollMs: 20,
    })
  ).start();
  return running;
}

async function refusal(chimera: Chimera, topic: TopicMessage): Promise<string> {
  try {
    await chimera.startNewConversation(topic);
  } catch (error) {
    if (isChimeraError(error) && error.code === 'invalid_topic') return error.message;
    throw error;
  }
  throw new Error('the topic was taken');
}

describe('startNewConversation refuses what the intake would dead-letter', () => {
  it('refuses a title with hidden characters, an empty title, an id the schema refuses and an oversize topic, naming why', async () => {
    const chimera = await start({ MAX_TOPIC_MESSAGE_BYTES: '2048', TOPIC_MAX_LENGTH: '200' });
    expect(await refusal(chimera, { title: 'hidden\u200Btext' })).toMatch(
      /invalid_title: .*invisible character U\+200B/,
    );
    expect(await refusal(chimera, { title: '   ' })).toMatch(/invalid_title: title is empty/);
    expect(await refusal(chimera, { id: 'a b/c', title: 'Tidal power' })).toMatch(/invalid_payload: id: /);
    expect(await refusal(chimera, { title: 'x'.repeat(201) })).toMatch(
      /invalid_title: title is 201 characters/,
    );
    // Within the title limit but over the message limit (metadata counts).
    expect(await refusal(chimera, { title: 'Tidal power', metadata: { notes: 'n'.repeat(3000) } })).toMatch(
      /oversize_message.*more than the 2048 allowed/,
    );
    expect(chimera.supervision.active + chimera.supervision.settled).toBe(0);
  });

  it('a valid topic is still taken and finishes', async () => {
    const chimera = await start();
    const id = await chimera.startNewConversation({ id: 'valid-1', title: 'Tidal power' });
    const record = await chimera.waitFor(id, 20_000);
    expect(record.status).toBe('ended');
    expect(record.topic.title).toBe('Tidal power');
  });
});
