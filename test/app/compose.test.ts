import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compose } from '../../src/app/compose.js';
import { loadConfig } from '../../src/config.js';
import { ProviderError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { systemClock } from '../../src/services/ports.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('the composition root', () => {
  it('closing the composition stops every breaker, so an open breaker leaves no cool-down timer behind', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const config = loadConfig({ CIRCUIT_BREAKER_FAILURE_THRESHOLD: '1' });
    const parts = await compose(config, {
      logger: createLogger({ level: 'silent' }),
      clock: systemClock,
      owner: 'compose-test',
      sides: ['simulated', 'simulated'],
      registry: new Registry(),
      intake: 'none',
    });
    const breaker = parts.breakers.get('simulated')!;
    breaker.onFailure(new ProviderError('overloaded', 'overloaded', { provider: 'simulated' }));
    expect(breaker.state).toBe('open');
    expect(vi.getTimerCount()).toBeGreaterThan(0);

    await parts.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('without Redis or Kafka, builds the in-memory adapters and every configured provider behind its limiter and breaker', async () => {
    const config = loadConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' });
    const parts = await compose(config, {
      logger: createLogger({ level: 'silent' }),
      clock: systemClock,
      owner: 'compose-test',
      sides: ['simulated', 'simulated'],
      registry: new Registry(),
      intake: 'none',
    });
    try {
      expect(parts.mode).toEqual({ redis: false, kafka: false });
      expect([...parts.providers.keys()].sort()).toEqual(['openai', 'simulated']);
      expect([...parts.breakers.keys()].sort()).toEqual(['openai', 'simulated']);
      expect([...parts.limiters.keys()].sort()).toEqual(['openai', 'simulated']);
      expect(parts.supervisor.getSnapshot().status).toBe('active');
    } finally {
      await parts.close();
    }
  });
});
