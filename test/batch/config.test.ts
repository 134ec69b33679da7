import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { isConfigError } from '../../src/errors.js';

function configError(env: Record<string, string>) {
  try {
    loadConfig(env);
  } catch (error) {
    if (isConfigError(error)) return error;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('batch mode configuration', () => {
  it('is online for every provider unless asked', () => {
    const { batch } = loadConfig({});
    expect(batch.modes).toEqual({
      anthropic: 'online',
      gemini: 'online',
      openai: 'online',
      simulated: 'online',
    });
    expect(batch.maxWaitMs).toBe(24 * 3_600_000);
    expect(batch.fallback).toBe('batch');
    expect(batch.leaseMs).toBe(30_000);
  });

  it('BATCH_LEASE_SECONDS sets the batch lease, from 3 s to an hour', () => {
    expect(loadConfig({ BATCH_LEASE_SECONDS: '5' }).batch.leaseMs).toBe(5_000);
    expect(loadConfig({ BATCH_LEASE_SECONDS: '3600' }).batch.leaseMs).toBe(3_600_000);
    for (const bad of ['2', '3601', '1.5', 'soon']) {
      const error = configError({ BATCH_LEASE_SECONDS: bad });
      expect(error.variable).toBe('BATCH_LEASE_SECONDS');
      expect(error.message).toMatch(/BATCH_LEASE_SECONDS.*expected a whole number from 3 to 3600/);
    }
  });

  it('PROVIDER_MODE sets every provider, a provider’s own variable overrides it', () => {
    const { batch } = loadConfig({
      PROVIDER_MODE: 'batch',
      GEMINI_MODE: 'online',
      BATCH_COLLECT_SECONDS: '5',
    });
    expect(batch.modes.anthropic).toBe('batch');
    expect(batch.modes.openai).toBe('batch');
    expect(batch.modes.gemini).toBe('online');
    expect(batch.modes.simulated).toBe('batch');
    expect(batch.collectMs).toBe(5_000);
  });

  it('names the variable that is wrong', () => {
    expect(configError({ PROVIDER_MODE: 'offline' }).variable).toBe('PROVIDER_MODE');
    expect(configError({ BATCH_MAX_REQUESTS: '0' }).variable).toBe('BATCH_MAX_REQUESTS');
    expect(configError({ BATCH_FALLBACK: 'never' }).variable).toBe('BATCH_FALLBACK');
  });
});
