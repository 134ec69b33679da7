import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ProviderError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createAdapters } from '../../src/runtime/adapters.js';
import { systemClock } from '../../src/services/ports.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('adapters', () => {
  it('closing the adapters stops every breaker, so an open breaker leaves no cool-down timer behind', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const config = loadConfig({ CIRCUIT_BREAKER_FAILURE_THRESHOLD: '1' });
    const adapters = await createAdapters(config, {
      logger: createLogger({ level: 'silent' }),
      clock: systemClock,
      owner: 'adapters-test',
      providers: ['simulated'],
      intake: 'none',
    });
    const breaker = adapters.breakers.get('simulated')!;
    breaker.onFailure(new ProviderError('overloaded', 'overloaded', { provider: 'simulated' }));
    expect(breaker.state).toBe('open');
    expect(vi.getTimerCount()).toBeGreaterThan(0);

    await adapters.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
