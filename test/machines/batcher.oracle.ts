/**
 * A reference model of a provider's batcher, written from the batch-mode description (docs/batch.md and
 * the feature's specification), not from the machine's code. It follows each request by its custom id and
 * says, after every world event, where each request is and what the batcher did to the outside (answers
 * handed over, calls failed with a code, requests sent online).
 *
 *   - Requests are gathered; a batch goes when `maxRequests` wait, or when the collect time since the
 *     first one passed. A batch carries the oldest waiting requests, at most `maxRequests`.
 *   - While a batch is being submitted, requests keep arriving and wait for the next one. After a
 *     submission: a full batch waiting goes at once, fewer wait for a new collect time.
 *   - A submission the provider refused with a retryable error, or a whole batch that failed or expired,
 *     sends its requests round once more; the second time they fail. A non-retryable refusal fails them.
 *   - Batches out are polled; the wait between polls doubles, up to a cap, while nothing finished, and
 *     goes back to the minimum once a batch has been dealt with.
 *   - An ended batch's answers go to their calls. A request answered with a retryable error goes into the
 *     next batch (or online, when the fallback is online) up to `maxRetries` times, then fails; a
 *     non-retryable error fails the call with the provider's code. A request the results do not mention
 *     counts as a retryable error.
 *   - Cancelling fails everything still waiting to be sent, cancels what is out, and from then on new
 *     requests fail at once and nothing goes round again.
 */

export type Where = 'queued' | 'sending' | 'out' | 'reading';

export interface ExpectedRequest {
  id: string;
  where: Where;
  retries: number;
  resubmissions: number;
}

export interface ExpectedBatch {
  ids: string[];
  state: 'in_progress' | 'ended' | 'failed' | 'expired' | 'cancelled';
}

export type IntakePhase = 'idle' | 'collecting' | 'submitting';
export type TrackingPhase = 'idle' | 'waiting' | 'polling' | 'reading' | 'settling';

export interface ExpectedBatcher {
  intake: IntakePhase;
  tracking: TrackingPhase;
  cancelled: boolean;
  cancelling: boolean;
  /** Waiting to be sent, oldest first. */
  queue: ExpectedRequest[];
  sending: ExpectedRequest[];
  out: Array<ExpectedBatch & { requests: ExpectedRequest[] }>;
  /** The finished batch being read or settled. */
  current: (ExpectedBatch & { requests: ExpectedRequest[] }) | null;
  pollDelayMs: number;
}

/** What the batcher did to the outside in one step. */
export type Effect =
  | { kind: 'deliver'; id: string }
  | { kind: 'fail'; id: string; code: string }
  | { kind: 'online'; id: string };

export type ItemOutcome = 'ok' | 'retryable' | 'fatal' | 'missing';

export type BatcherWorldEvent =
  | { kind: 'request'; id: string }
  | { kind: 'collectTimeUp' }
  | { kind: 'submitted'; refused: string[] }
  | { kind: 'submitFailed'; retryable: boolean; code: string }
  | { kind: 'pollTimeUp' }
  | { kind: 'polled'; states: ExpectedBatch['state'][] }
  | { kind: 'pollFailed' }
  | { kind: 'results'; outcomes: ItemOutcome[] }
  | { kind: 'resultsFailed' }
  | { kind: 'settled' }
  | { kind: 'cancel' }
  | { kind: 'cancelDone' };

export interface BatcherSettings {
  maxRequests: number;
  pollMinMs: number;
  pollMaxMs: number;
  maxRetries: number;
  fallback: 'batch' | 'online';
  /** The code a retryable result error carries, and a fatal one. */
  retryableCode: string;
  fatalCode: string;
}

export function initialBatcher(settings: BatcherSettings): ExpectedBatcher {
  return {
    intake: 'idle',
    tracking: 'idle',
    cancelled: false,
    cancelling: false,
    queue: [],
    sending: [],
    out: [],
    current: null,
    pollDelayMs: settings.pollMinMs,
  };
}

const waitingIds = (s: ExpectedBatcher): Set<string> =>
  new Set([
    ...s.queue.map((r) => r.id),
    ...s.sending.map((r) => r.id),
    ...s.out.flatMap((b) => b.requests.map((r) => r.id)),
    ...(s.current?.requests.map((r) => r.id) ?? []),
  ]);

/** After a submission ends (or on its own): where the intake goes given what waits. */
function intakeAfter(queue: ExpectedRequest[], settings: BatcherSettings): IntakePhase {
  if (queue.length >= settings.maxRequests) return 'submitting';
  return queue.length > 0 ? 'collecting' : 'idle';
}

/** Starts a submission: the oldest requests, up to the limit, leave the queue. */
function startSubmission(s: ExpectedBatcher, settings: BatcherSettings): ExpectedBatcher {
  return {
    ...s,
    intake: 'submitting',
    sending: s.queue.slice(0, settings.maxRequests).map((r) => ({ ...r, where: 'sending' })),
    queue: s.queue.slice(settings.maxRequests),
  };
}

/** Settles the intake after a change of the queue while it was idle or collecting. */
function settleIntake(s: ExpectedBatcher, settings: BatcherSettings): ExpectedBatcher {
  if (s.intake === 'submitting') return s;
  if (s.queue.length >= settings.maxRequests) return startSubmission(s, settings);
  if (s.queue.length > 0 && s.intake === 'idle') return { ...s, intake: 'collecting' };
  return s;
}

/** Settles the tracking region after batches came out or went. */
function settleTracking(s: ExpectedBatcher): ExpectedBatcher {
  if (s.tracking === 'idle' && s.out.length > 0) return { ...s, tracking: 'waiting' };
  return s;
}

const finished = (state: ExpectedBatch['state']) => state !== 'in_progress';

/** From a poll's answer or a settled batch: take the next finished batch, if any. */
function nextFinished(s: ExpectedBatcher): [ExpectedBatcher, Effect[]] {
  const index = s.out.findIndex((b) => finished(b.state));
  if (index < 0) return [{ ...s, tracking: s.out.length > 0 ? 'waiting' : 'idle' }, []];
  const batch = s.out[index]!;
  const out = s.out.filter((_, i) => i !== index);
  const current = { ...batch, requests: batch.requests.map((r) => ({ ...r, where: 'reading' as Where })) };
  if (batch.state === 'failed' || batch.state === 'expired') {
    // A whole batch lost: its requests go round once more, then they fail.
    const effects: Effect[] = [];
    const again: ExpectedRequest[] = [];
    for (const r of batch.requests) {
      if (r.resubmissions < 1 && !s.cancelled)
        again.push({ ...r, where: 'queued', resubmissions: r.resubmissions + 1 });
      else
        effects.push({
          kind: 'fail',
          id: r.id,
          code: batch.state === 'expired' ? 'timeout' : 'server_error',
        });
    }
    return [{ ...s, out, current, tracking: 'settling', queue: [...again, ...s.queue] }, effects];
  }
  return [{ ...s, out, current, tracking: 'reading' }, []];
}

export function batcherStep(
  state: ExpectedBatcher,
  event: BatcherWorldEvent,
  settings: BatcherSettings,
): { state: ExpectedBatcher; effects: Effect[] } {
  let s = state;
  const effects: Effect[] = [];
  switch (event.kind) {
    case 'request': {
      if (s.cancelled) {
        effects.push({ kind: 'fail', id: event.id, code: 'invalid_request' });
        break;
      }
      if (waitingIds(s).has(event.id)) break;
      s = { ...s, queue: [...s.queue, { id: event.id, where: 'queued', retries: 0, resubmissions: 0 }] };
      break;
    }
    case 'collectTimeUp':
      if (s.intake === 'collecting') s = startSubmission(s, settings);
      break;
    case 'submitted': {
      if (s.intake !== 'submitting') break;
      const kept = s.sending.filter((r) => !event.refused.includes(r.id));
      const out =
        kept.length > 0
          ? [
              ...s.out,
              {
                ids: kept.map((r) => r.id),
                state: 'in_progress' as const,
                requests: kept.map((r) => ({ ...r, where: 'out' as Where })),
              },
            ]
          : s.out;
      s = { ...s, sending: [], out, intake: intakeAfter(s.queue, settings) };
      if (s.intake === 'submitting') s = startSubmission(s, settings);
      break;
    }
    case 'submitFailed': {
      if (s.intake !== 'submitting') break;
      const again: ExpectedRequest[] = [];
      for (const r of s.sending) {
        if (event.retryable && r.resubmissions < 1 && !s.cancelled)
          again.push({ ...r, where: 'queued', resubmissions: r.resubmissions + 1 });
        else effects.push({ kind: 'fail', id: r.id, code: event.code });
      }
      const queue = [...again, ...s.queue];
      s = { ...s, sending: [], queue, intake: intakeAfter(queue, settings) };
      if (s.intake === 'submitting') s = startSubmission(s, settings);
      break;
    }
    case 'pollTimeUp':
      if (s.tracking === 'waiting') s = { ...s, tracking: 'polling' };
      break;
    case 'polled': {
      if (s.tracking !== 'polling') break;
      const out = s.out.map((b, i) => ({ ...b, state: event.states[i] ?? b.state }));
      const anyFinished = out.some((b) => finished(b.state));
      s = {
        ...s,
        out,
        pollDelayMs: anyFinished ? s.pollDelayMs : Math.min(settings.pollMaxMs, s.pollDelayMs * 2),
      };
      const [next, fx] = nextFinished(s);
      s = next;
      effects.push(...fx);
      break;
    }
    case 'pollFailed':
      if (s.tracking !== 'polling') break;
      s = { ...s, tracking: 'waiting', pollDelayMs: Math.min(settings.pollMaxMs, s.pollDelayMs * 2) };
      break;
    case 'results': {
      if (s.tracking !== 'reading' || !s.current) break;
      const again: ExpectedRequest[] = [];
      s.current.requests.forEach((r, i) => {
        const outcome = event.outcomes[i] ?? 'missing';
        if (outcome === 'ok') effects.push({ kind: 'deliver', id: r.id });
        else if (outcome === 'fatal') effects.push({ kind: 'fail', id: r.id, code: settings.fatalCode });
        else if (r.retries < settings.maxRetries && !s.cancelled) {
          if (settings.fallback === 'online') effects.push({ kind: 'online', id: r.id });
          else again.push({ ...r, where: 'queued', retries: r.retries + 1 });
        } else
          effects.push({
            kind: 'fail',
            id: r.id,
            code: outcome === 'missing' ? 'bad_response' : settings.retryableCode,
          });
      });
      s = { ...s, tracking: 'settling', queue: [...s.queue, ...again] };
      break;
    }
    case 'resultsFailed':
      if (s.tracking !== 'reading' || !s.current) break;
      // Stays out; read again after the next poll.
      s = {
        ...s,
        out: [...s.out, { ...s.current, requests: s.current.requests.map((r) => ({ ...r, where: 'out' })) }],
        current: null,
        tracking: 'waiting',
        pollDelayMs: Math.min(settings.pollMaxMs, s.pollDelayMs * 2),
      };
      break;
    case 'settled': {
      if (s.tracking !== 'settling') break;
      s = { ...s, current: null, pollDelayMs: settings.pollMinMs };
      const [next, fx] = nextFinished(s);
      s = next;
      effects.push(...fx);
      break;
    }
    case 'cancel':
      if (s.cancelling || s.cancelled) break;
      for (const r of s.queue) effects.push({ kind: 'fail', id: r.id, code: 'invalid_request' });
      s = { ...s, queue: [], cancelled: true, cancelling: true };
      break;
    case 'cancelDone':
      if (s.cancelling) s = { ...s, cancelling: false };
      break;
  }
  s = settleTracking(settleIntake(s, settings));
  return { state: s, effects };
}
