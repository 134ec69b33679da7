import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CircuitOpenError, isCircuitOpenError, ProviderError } from '../../src/errors.js';
import { type BreakerReport, breakerReportSchema } from '../../src/events.js';
import { type BreakerStart, breakerStartFor } from '../../src/resilience/breaker-restore.js';
import { versionedBreakerSnapshot } from '../../src/resilience/breaker-snapshot.js';
import { ProviderBreaker } from '../../src/resilience/provider-breaker.js';

const T0 = 1_700_000_000_000;
const COOLDOWN = 30_000;
const THRESHOLD = 2;
const settings = (now: number) => ({ threshold: THRESHOLD, cooldownMs: COOLDOWN, now });

const overloaded = () => new ProviderError('overloaded', 'overloaded', { provider: 'p', status: 529 });

function circuitOpen(run: () => unknown): CircuitOpenError {
  try {
    run();
  } catch (error) {
    if (isCircuitOpenError(error)) return error;
    throw error;
  }
  throw new Error('expected a CircuitOpenError');
}

/** The report a publisher writes for `breaker` now, as it reads back from Redis. */
function reportOf(breaker: ProviderBreaker, instance = 'daemon-a'): BreakerReport {
  const report = {
    state: breaker.state,
    since: Date.now(),
    instance,
    failures: breaker.context.failures,
    openedAt: breaker.context.openedAt,
    cooldownMs: breaker.context.cooldownMs,
    persisted: versionedBreakerSnapshot(breaker),
  };
  return breakerReportSchema.parse(JSON.parse(JSON.stringify(report)));
}

function openedBreaker(options: { threshold?: number; cooldownMs?: number } = {}): ProviderBreaker {
  const breaker = new ProviderBreaker({
    name: 'p',
    threshold: options.threshold ?? THRESHOLD,
    cooldownMs: options.cooldownMs ?? COOLDOWN,
  });
  while (breaker.state === 'closed') breaker.onFailure(overloaded(), breaker.admit());
  return breaker;
}

function startedFrom(start: BreakerStart): ProviderBreaker {
  if (start.start !== 'open') throw new Error(`expected an open start, got closed (${start.reason})`);
  return new ProviderBreaker({
    name: 'p',
    threshold: THRESHOLD,
    cooldownMs: COOLDOWN,
    snapshot: start.snapshot,
  });
}

describe('how a breaker starts from its provider’s stored report', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an open report starts the breaker open with the same openedAt: it fails fast until openedAt + cool-down, then one probe goes', () => {
    const report = reportOf(openedBreaker());
    vi.setSystemTime(T0 + 5_000); // the restart took five seconds

    const start = breakerStartFor(report, settings(Date.now()));
    expect(start).toMatchObject({
      start: 'open',
      openedAt: T0,
      probeAt: T0 + COOLDOWN,
      reportedBy: 'daemon-a',
    });
    const breaker = startedFrom(start);
    expect(breaker.state).toBe('open');
    expect(breaker.context).toMatchObject({ openedAt: T0, failures: THRESHOLD });
    expect(circuitOpen(() => breaker.admit()).retryAt).toBe(T0 + COOLDOWN);

    vi.advanceTimersByTime(COOLDOWN - 5_000 - 1);
    expect(circuitOpen(() => breaker.admit()).retryAt).toBe(T0 + COOLDOWN);
    vi.advanceTimersByTime(1);
    expect(breaker.state).toBe('halfOpen');
    const probe = breaker.admit();
    expect(probe).toEqual({ probe: true });
    breaker.onSuccess(probe);
    expect(breaker.state).toBe('closed');
  });

  it('a breaker restored open whose probe fails opens again for a full cool-down from the failure', () => {
    const breaker = startedFrom(breakerStartFor(reportOf(openedBreaker()), settings(T0)));
    vi.advanceTimersByTime(COOLDOWN);
    breaker.onFailure(overloaded(), breaker.admit());
    expect(breaker.state).toBe('open');
    expect(circuitOpen(() => breaker.admit()).retryAt).toBe(T0 + 2 * COOLDOWN);
  });

  it('a report written while the other process was probing starts open, already past its cool-down: the first call here probes', () => {
    const other = openedBreaker();
    vi.advanceTimersByTime(COOLDOWN);
    other.admit(); // the other process's probe, never answered: it stopped
    expect(other.probing).toBe(true);
    const report = reportOf(other);
    expect(report.state).toBe('halfOpen');

    vi.advanceTimersByTime(1_000);
    const start = breakerStartFor(report, settings(Date.now()));
    expect(start).toMatchObject({ start: 'open', openedAt: T0, probeAt: T0 + COOLDOWN });
    const breaker = startedFrom(start);
    expect(breaker.state).toBe('halfOpen');
    expect(breaker.probing).toBe(false);
    expect(breaker.admit()).toEqual({ probe: true });
  });

  it('is followed until one cool-down after its probe time, then it is too old to say anything', () => {
    const report = reportOf(openedBreaker());
    expect(breakerStartFor(report, settings(T0 + 2 * COOLDOWN - 1)).start).toBe('open');
    expect(breakerStartFor(report, settings(T0 + 2 * COOLDOWN))).toEqual({
      start: 'closed',
      reason: 'stale',
    });
  });

  it('a closed report, or no report at all, starts the breaker closed', () => {
    const closed = new ProviderBreaker({ name: 'p', threshold: THRESHOLD, cooldownMs: COOLDOWN });
    closed.onFailure(overloaded(), closed.admit());
    expect(breakerStartFor(reportOf(closed), settings(T0))).toEqual({
      start: 'closed',
      reason: 'reported closed',
    });
    expect(breakerStartFor(undefined, settings(T0))).toEqual({ start: 'closed', reason: 'no report' });
  });

  it('an open report written before reports carried a snapshot still reads, and starts the breaker closed', () => {
    const old = breakerReportSchema.parse({
      state: 'open',
      since: T0,
      instance: 'daemon-old',
      failures: 5,
      openedAt: T0,
      cooldownMs: COOLDOWN,
    });
    expect(breakerStartFor(old, settings(T0 + 1_000))).toEqual({
      start: 'closed',
      reason: 'the report has no snapshot',
    });
  });

  it.each([
    ['another envelope layout', (p: Record<string, unknown>) => ({ ...p, schemaVersion: 2 })],
    [
      'another machine version',
      (p: Record<string, unknown>) => ({ ...p, machineVersion: 'circuit-breaker@0' }),
    ],
    ['a snapshot of another shape', (p: Record<string, unknown>) => ({ ...p, snapshot: { value: 'open' } })],
    [
      'a state the machine does not have',
      (p: Record<string, unknown>) => ({
        ...p,
        snapshot: { ...(p.snapshot as object), value: 'sideways' },
      }),
    ],
    ['not an object', () => 'open'],
  ])('an open report with %s starts the breaker closed', (_what, mangle) => {
    const report = reportOf(openedBreaker());
    const mangled = { ...report, persisted: mangle(report.persisted as Record<string, unknown>) };
    const start = breakerStartFor(mangled, settings(T0 + 1_000));
    expect(start.start).toBe('closed');
    expect(start.start === 'closed' && start.reason).toMatch(/^unreadable snapshot/);
  });

  it('takes this process’s threshold and cool-down, not the reporter’s: only openedAt carries over', () => {
    const report = reportOf(openedBreaker({ threshold: 9, cooldownMs: 120_000 }));
    const start = breakerStartFor(report, settings(T0 + 1_000));
    expect(start).toMatchObject({ start: 'open', openedAt: T0, probeAt: T0 + COOLDOWN });
    const breaker = startedFrom(start);
    expect(breaker.context).toMatchObject({ threshold: THRESHOLD, cooldownMs: COOLDOWN, openedAt: T0 });
    expect(circuitOpen(() => breaker.admit()).retryAt).toBe(T0 + COOLDOWN);
  });

  it('an openedAt ahead of this clock (a reporter whose clock runs fast) never keeps the breaker open past one cool-down', () => {
    vi.setSystemTime(T0 + 60_000);
    const report = reportOf(openedBreaker());
    vi.setSystemTime(T0);
    expect(breakerStartFor(report, settings(T0))).toMatchObject({
      start: 'open',
      openedAt: T0,
      probeAt: T0 + COOLDOWN,
    });
  });
});
