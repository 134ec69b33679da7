import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatMessage, GenerateRequest } from '../../src/services/ports.js';
import { generateDialogue } from '../../src/services/providers/simulated/dialogue.js';
import { SimulatedProvider } from '../../src/services/providers/simulated/provider.js';

const TOPIC = 'Topic: The rise of community solar farms in rural Europe. Start the conversation.';

function request(messages: ChatMessage[], overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return { system: '', messages, maxTokens: 400, temperature: 0.8, ...overrides };
}

/** Plays both sides with one provider, alternating roles as the conversation does. */
async function converse(provider: SimulatedProvider, turns: number): Promise<string[]> {
  const texts: string[] = [];
  const messages: ChatMessage[] = [{ role: 'user', content: TOPIC }];
  for (let i = 0; i < turns; i++) {
    const { text } = await provider.generate(request(messages));
    texts.push(text);
    messages.push({ role: messages.length % 2 === 1 ? 'assistant' : 'user', content: text });
  }
  return texts;
}

describe('simulated provider', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes a different text on each turn of a conversation', async () => {
    const texts = await converse(new SimulatedProvider({ seed: 3 }), 8);
    expect(new Set(texts).size).toBe(8);
  });

  it('talks about the topic of the conversation', async () => {
    const texts = await converse(new SimulatedProvider({ seed: 3 }), 4);
    expect(texts.join(' ')).toMatch(/solar|rural Europe/);
  });

  it('is reproducible: the same seed and conversation give the same texts', async () => {
    expect(await converse(new SimulatedProvider({ seed: 11 }), 6)).toEqual(
      await converse(new SimulatedProvider({ seed: 11 }), 6),
    );
  });

  it('another seed gives another conversation', async () => {
    expect(await converse(new SimulatedProvider({ seed: 1 }), 6)).not.toEqual(
      await converse(new SimulatedProvider({ seed: 2 }), 6),
    );
  });

  it('answers a question with an explanation and follows an explanation with a question', () => {
    const answer = generateDialogue(
      request([{ role: 'user', content: 'Topic: tides. Why are there two high tides a day?' }]),
      5,
    );
    expect(answer.role).toBe('answerer');
    expect(answer.text.trim().endsWith('?')).toBe(false);

    const question = generateDialogue(
      request([
        { role: 'user', content: 'Topic: tides. Why are there two high tides a day?' },
        { role: 'assistant', content: answer.text },
      ]),
      5,
    );
    expect(question.role).toBe('questioner');
    expect(question.text.trim().endsWith('?')).toBe(true);
  });

  it('the system prompt decides the side when it names one', () => {
    const reply = generateDialogue(
      request([{ role: 'user', content: 'Topic: tides. Why are there two high tides a day?' }], {
        system: 'You are a curious learner who asks follow-up questions.',
      }),
      5,
    );
    expect(reply.role).toBe('questioner');
  });

  it('sooner or later says goodbye, so conversations can end naturally', async () => {
    const texts = await converse(new SimulatedProvider({ seed: 9 }), 18);
    const closing = texts.findIndex((text) => /thank|goodbye|great (discussion|conversation)/i.test(text));
    expect(closing).toBeGreaterThanOrEqual(7);
  });

  it('never closes in the first turns', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const texts = await converse(new SimulatedProvider({ seed }), 6);
      expect(texts.some((text) => /thank|goodbye/i.test(text))).toBe(false);
    }
  });

  it('counts usage at about four characters per token', async () => {
    const provider = new SimulatedProvider();
    const messages: ChatMessage[] = [{ role: 'user', content: 'x'.repeat(400) }];
    const result = await provider.generate(request(messages, { system: 'y'.repeat(100) }));
    expect(result.usage.inputTokens).toBe(125);
    expect(result.usage.outputTokens).toBe(Math.ceil(result.text.length / 4));
    expect(result.model).toBe('chimera-simulated-1');
    expect(result.requestId).toMatch(/^sim_/);
  });

  it('cuts the text to maxTokens and says so in the stop reason', async () => {
    const result = await new SimulatedProvider({ seed: 4 }).generate(
      request([{ role: 'user', content: 'Topic: tides. Why are there two high tides a day?' }], {
        maxTokens: 5,
      }),
    );
    expect(result.text.length).toBe(20);
    expect(result.stopReason).toBe('max_tokens');
  });

  it('waits the configured latency before answering', async () => {
    vi.useFakeTimers();
    const provider = new SimulatedProvider({ latencyMs: 500 });
    let settled = false;
    const call = provider.generate(request([{ role: 'user', content: TOPIC }])).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const result = await call;
    expect(result.latencyMs).toBe(500);
  });

  it('with zero latency answers without waiting for any timer', async () => {
    vi.useFakeTimers();
    const result = await new SimulatedProvider().generate(request([{ role: 'user', content: TOPIC }]));
    expect(result.text).not.toBe('');
  });

  it('an abort during the latency rejects with an AbortError', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const call = new SimulatedProvider({ latencyMs: 10_000 }).generate(
      request([{ role: 'user', content: TOPIC }], { signal: controller.signal }),
    );
    const outcome = call.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    expect(await outcome).toMatchObject({ name: 'AbortError' });
  });

  it('the health check is always healthy', async () => {
    await expect(new SimulatedProvider().healthCheck()).resolves.toEqual({ healthy: true, latencyMs: 0 });
  });
});
