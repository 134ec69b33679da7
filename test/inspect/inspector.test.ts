import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Chimera } from '../../src/chimera.js';
import { loadConfig } from '../../src/config.js';
import { type ChimeraInspector, startInspector } from '../../src/inspect/inspector.js';
import { createLogger } from '../../src/logger.js';

interface Message {
  type: string;
  sessionId: string;
  name?: string;
  definition?: string;
  event?: { type: string };
  snapshot?: { status?: string; value?: unknown };
}

const logger = createLogger({ level: 'silent' });
let chimera: Chimera | undefined;
let inspector: ChimeraInspector | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await chimera?.stop();
  chimera = undefined;
  await inspector?.stop();
  inspector = undefined;
});

/** A WebSocket client of the relay that keeps every message it receives. */
async function listen(port: number): Promise<Message[]> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}`);
  sockets.push(socket);
  const received: Message[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data)) as Message));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return received;
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function embeddedChimera(inspect: ChimeraInspector['inspect']): Promise<Chimera> {
  const config = loadConfig({ MAX_CONVERSATION_TURNS: '3', MIN_CONVERSATION_TURNS: '2' });
  return (await Chimera.create(config, { logger, intake: 'none', pollMs: 20, inspect })).start();
}

describe('Stately inspector', () => {
  it("streams a conversation's registration, events and snapshots to a WebSocket client", async () => {
    inspector = await startInspector({ port: 0 });
    const received = await listen(inspector.relay.port);
    chimera = await embeddedChimera(inspector.inspect);

    const conversationId = await chimera.startNewConversation({ title: 'Why the sky is blue' });
    await chimera.waitFor(conversationId, 20_000);

    await until(
      () => received.some((m) => m.type === '@xstate.actor' && m.name === conversationId),
      'the conversation actor',
    );
    const actor = received.find((m) => m.type === '@xstate.actor' && m.name === conversationId)!;
    // Its supervisor shard is shown too, between the supervisor and the conversations.
    expect(received.some((m) => m.type === '@xstate.actor' && m.name === 'shard-0')).toBe(true);
    // The machine's definition travels with the registration: the inspector draws its statechart.
    expect(JSON.parse(actor.definition!)).toHaveProperty('states');
    await until(
      // A snapshot event, not the registration: the registration is converted after a tick and may already
      // carry the final snapshot while the snapshot events of the states before it are still on their way.
      () =>
        received.some(
          (m) =>
            m.type === '@xstate.snapshot' && m.sessionId === actor.sessionId && m.snapshot?.status === 'done',
        ),
      'the final snapshot of the conversation',
    );
    const ofConversation = received.filter((m) => m.sessionId === actor.sessionId);
    expect(ofConversation.filter((m) => m.type === '@xstate.event').length).toBeGreaterThan(0);
    const states = ofConversation.filter((m) => m.type === '@xstate.snapshot').map((m) => m.snapshot?.value);
    expect(new Set(states.map((v) => JSON.stringify(v))).size).toBeGreaterThan(1);
  });

  it('shows the supervisor and each circuit breaker', async () => {
    inspector = await startInspector({ port: 0 });
    const received = await listen(inspector.relay.port);
    chimera = await embeddedChimera(inspector.inspect);
    await until(
      () =>
        received.some((m) => m.type === '@xstate.actor' && m.name === 'supervisor') &&
        received.some((m) => m.type === '@xstate.actor' && m.name === 'circuit-breaker:simulated'),
      'the supervisor and the breaker',
    );
  });

  it('replays the live actors and recent events to a client that connects late', async () => {
    inspector = await startInspector({ port: 0 });
    chimera = await embeddedChimera(inspector.inspect);
    const conversationId = await chimera.startNewConversation({ title: 'How volcanoes form' });
    await chimera.waitFor(conversationId, 20_000);

    const late = await listen(inspector.relay.port);
    await until(() => late.some((m) => m.type === '@xstate.actor' && m.name === 'supervisor'), 'the replay');
    expect(late.some((m) => m.type === '@xstate.snapshot')).toBe(true);
    // The finished conversation is no longer live: only its recent events come back, not its registration.
    expect(late.some((m) => m.type === '@xstate.actor' && m.name === conversationId)).toBe(false);
  });

  it('serves the bridge page that embeds the Stately inspector UI', async () => {
    inspector = await startInspector({ port: 0 });
    const response = await fetch(inspector.relay.url);
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('https://stately.ai/inspect');
    expect(page).toContain('@statelyai.connected');
  });
});
