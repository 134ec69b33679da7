import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.js';
import { providersCheck } from '../../src/http/checks/providers.js';
import { Readiness, type ReadinessCheck } from '../../src/http/readiness.js';
import { clearRegisteredSecrets, registerSecrets } from '../../src/redact.js';
import { ProviderBreaker } from '../../src/resilience/provider-breaker.js';

const passing = (name: string): ReadinessCheck => ({ name, run: async () => null });
const failing = (name: string, code: string, detail?: string): ReadinessCheck => ({
  name,
  run: async () => ({ code, ...(detail === undefined ? {} : { detail }) }),
});

function openBreaker(name: string): ProviderBreaker {
  const breaker = new ProviderBreaker({ name, threshold: 1, cooldownMs: 60_000 });
  breaker.onFailure(new ProviderError('overloaded', 'overloaded', { provider: name, status: 529 }));
  return breaker;
}

describe('Readiness', () => {
  it('is not ready while starting, even when every check passes', async () => {
    const readiness = new Readiness({ checks: [passing('redis')] });
    const report = await readiness.report();
    expect(report).toMatchObject({ ready: false, phase: 'starting', reasons: ['starting'] });
    expect(report.checks).toEqual({ redis: 'ok' });
  });

  it('is ready when running and every check passes', async () => {
    const readiness = new Readiness({ checks: [passing('redis'), passing('kafka')] });
    readiness.phase = 'running';
    await expect(readiness.report()).resolves.toEqual({
      ready: true,
      phase: 'running',
      checks: { redis: 'ok', kafka: 'ok' },
      reasons: [],
    });
  });

  it('names each failing check and its code; the detail (host names, driver text) goes to the log only', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const readiness = new Readiness({
      checks: [
        passing('redis'),
        failing('kafka', 'not_answering', 'connect ECONNREFUSED kafka-7.internal.example:9092'),
      ],
      logger,
    });
    readiness.phase = 'running';
    const report = await readiness.report();
    expect(report.ready).toBe(false);
    expect(report.reasons).toEqual(['kafka: not_answering']);
    expect(report.checks).toEqual({ redis: 'ok', kafka: 'not_answering' });
    expect(JSON.stringify(report)).not.toContain('internal.example');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      check: 'kafka',
      code: 'not_answering',
      detail: 'connect ECONNREFUSED kafka-7.internal.example:9092',
    });
    // The same verdict again is not logged again.
    await readiness.report();
    expect(lines).toHaveLength(1);
  });

  it('turns not ready when draining, so new work goes to other daemons', async () => {
    const readiness = new Readiness({ checks: [passing('redis')] });
    readiness.phase = 'running';
    readiness.phase = 'draining';
    await expect(readiness.report()).resolves.toMatchObject({ ready: false, reasons: ['draining'] });
  });

  it('counts a check that does not answer in time as failed instead of hanging the probe', async () => {
    const hung: ReadinessCheck = { name: 'redis', run: () => new Promise(() => {}) };
    const readiness = new Readiness({ checks: [hung], checkTimeoutMs: 20 });
    readiness.phase = 'running';
    const report = await readiness.report();
    expect(report.reasons).toEqual(['redis: timeout']);
  });

  it('reports a check that throws with the code check_failed, not its message', async () => {
    const throwing: ReadinessCheck = {
      name: 'kafka',
      run: async () => {
        throw new Error('broker went away');
      },
    };
    const readiness = new Readiness({ checks: [throwing] });
    readiness.phase = 'running';
    await expect(readiness.report()).resolves.toMatchObject({ reasons: ['kafka: check_failed'] });
  });

  it('keeps registered secrets out of the logged detail', async () => {
    registerSecrets(['hunter2-password']);
    try {
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
      const readiness = new Readiness({
        checks: [failing('redis', 'auth_failed', 'auth failed for hunter2-password')],
        logger,
      });
      const report = await readiness.report();
      expect(JSON.stringify(report)).not.toContain('hunter2-password');
      expect(lines.join('')).not.toContain('hunter2-password');
      expect(lines.join('')).toContain('auth failed for');
    } finally {
      clearRegisteredSecrets();
    }
  });

  it('shares one round of checks between concurrent probes', async () => {
    let runs = 0;
    const counted: ReadinessCheck = {
      name: 'redis',
      run: async () => {
        runs += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return null;
      },
    };
    const readiness = new Readiness({ checks: [counted] });
    await Promise.all([readiness.report(), readiness.report(), readiness.report()]);
    expect(runs).toBe(1);
    await readiness.report();
    expect(runs).toBe(2);
  });
});

describe('providersCheck', () => {
  it('passes while at least one provider breaker is not open', async () => {
    const open = openBreaker('anthropic');
    const closed = new ProviderBreaker({ name: 'gemini' });
    const check = providersCheck(
      () =>
        new Map([
          ['anthropic', open],
          ['gemini', closed],
        ]),
    );
    await expect(check.run()).resolves.toBeNull();
    open.stop();
    closed.stop();
  });

  it('fails naming the providers when every breaker is open', async () => {
    const a = openBreaker('anthropic');
    const b = openBreaker('gemini');
    const check = providersCheck(
      () =>
        new Map([
          ['anthropic', a],
          ['gemini', b],
        ]),
    );
    await expect(check.run()).resolves.toEqual({
      code: 'all_breakers_open',
      detail: 'every circuit breaker is open (anthropic, gemini)',
    });
    a.stop();
    b.stop();
  });

  it('fails when no provider is configured', async () => {
    await expect(providersCheck(() => new Map()).run()).resolves.toMatchObject({ code: 'no_provider' });
  });
});
