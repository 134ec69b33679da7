import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BREAKER_STATE_VALUE, counter, createMetrics, gauge, registry } from '../../src/metrics.js';

describe('metrics', () => {
  it('creating the provider metrics twice on one registry returns the same handles', () => {
    const target = new Registry();
    const first = createMetrics(target);
    const second = createMetrics(target);
    expect(second.requests).toBe(first.requests);
    expect(second.rateLimitWait).toBe(first.rateLimitWait);
  });

  it('the registry exposes every provider metric in the Prometheus text format', async () => {
    const target = new Registry();
    const metrics = createMetrics(target);
    metrics.requests.inc({ provider: 'gemini', outcome: 'success' });
    metrics.tokens.inc({ provider: 'gemini', kind: 'input' }, 12);
    metrics.latency.observe({ provider: 'gemini', outcome: 'success' }, 0.8);
    metrics.retries.inc({ provider: 'gemini', code: 'overloaded' });
    metrics.breakerState.set({ provider: 'gemini' }, BREAKER_STATE_VALUE.open);
    metrics.rateLimitWait.observe({ provider: 'gemini' }, 0);
    const text = await target.metrics();
    expect(text).toContain('chimera_provider_requests_total{provider="gemini",outcome="success"} 1');
    expect(text).toContain('chimera_provider_tokens_total{provider="gemini",kind="input"} 12');
    expect(text).toContain(
      'chimera_provider_latency_seconds_bucket{le="1",provider="gemini",outcome="success"} 1',
    );
    expect(text).toContain('chimera_provider_retries_total{provider="gemini",code="overloaded"} 1');
    expect(text).toContain('chimera_provider_circuit_state{provider="gemini"} 2');
    expect(text).toContain('chimera_provider_rate_limit_wait_seconds_count{provider="gemini"} 1');
  });

  it('other parts of the service add their own metrics to the same registry by name', () => {
    const target = new Registry();
    const active = gauge({ name: 'chimera_test_active', help: 'test' }, target);
    expect(gauge({ name: 'chimera_test_active', help: 'test' }, target)).toBe(active);
    expect(target.getSingleMetric('chimera_test_active')).toBe(active);
  });

  it('a name already taken by another kind of metric is refused', () => {
    const target = new Registry();
    gauge({ name: 'chimera_test_taken', help: 'test' }, target);
    expect(() => counter({ name: 'chimera_test_taken', help: 'test' }, target)).toThrow(/another type/);
  });

  it('the service registry is one shared instance', () => {
    expect(registry).toBeInstanceOf(Registry);
    expect(createMetrics().requests).toBe(createMetrics(registry).requests);
  });
});
