/**
 * A reference model of a conversation, written from the README's description of the machine and not from
 * its code: what each event does to a conversation, in plain TypeScript over a small abstract state. The
 * model-based test checks every path `@xstate/graph` finds in the real machine against this.
 *
 *   - A conversation asks the model for its next turn; an answer is then judged.
 *   - continue: the turn is kept; at the turn limit the conversation ends (max_turns), else the next
 *     turn is asked for.
 *   - retry_with_nudge: the answer is dropped (kept aside as discarded) and the same turn is asked for
 *     again, as the next generation, with a nudge.
 *   - natural_end: the turn is kept and the conversation ends.
 *   - refusal / repetition: the answer is dropped (discarded) and the conversation ends with that reason.
 *   - A failed model call or judgement ends it as failed (provider_failed).
 *   - The deadline ends it as timedOut (timeout) and a cancel as ended (cancelled), whatever it was doing;
 *     an answer waiting for its verdict is dropped.
 *   - A restored conversation resumes where its context says: judging a pending answer, else asking for
 *     the next turn (or ending at the limit).
 *   - The spending cap can refuse the next model call before it is sent: the conversation pauses at its
 *     last completed turn (nothing kept or dropped, nothing failed). While paused the deadline does not
 *     run; a resume asks for the same turn again, a cancel ends it (cancelled); nothing else moves it.
 *   - A conversation restored while paused stays paused until resumed.
 *   - An ended conversation ignores everything.
 *   - With a judge configured, a conversation that ends by the turn limit, a natural end, a refusal or a
 *     repetition, with at least one kept turn, is judged before it ends: a verdict ends it judged; a judge
 *     failure ends it all the same, unjudged; a cancel while judging ends it unjudged, its reason kept. The
 *     deadline no longer applies while judging. Cancelled, timed-out and failed conversations are not judged.
 *   - A conversation restored after its ending was decided but before the judge answered is judged again.
 *   - Online one deadline covers the whole conversation while it runs (asking for a turn or waiting for its
 *     verdict). In batch mode each call has a window of its own instead (docs/batch.md): a deadline runs
 *     only while a call waits for its answer, from when that call first asked (a call asked again after a
 *     pause for budget, or by a restored conversation that had not recorded its window, starts a new one).
 */

export type Phase = 'calling' | 'assessing' | 'paused' | 'judging' | 'ended' | 'failed' | 'timedOut';

/** Whether a judge is configured (`JUDGE_PROVIDER`). */
export interface OracleOptions {
  judge: boolean;
}

const NO_JUDGE: OracleOptions = { judge: false };

export interface ExpectedConversation {
  phase: Phase;
  /** Turns kept. */
  turns: number;
  /** Generated answers dropped (regenerated after a nudge, or ending the conversation). */
  discarded: number;
  /** Nudged regenerations used. */
  nudges: number;
  /** The turn being asked for is a nudged regeneration. */
  nudge: boolean;
  /** An answer waits for its verdict. */
  pending: boolean;
  reason?: string;
  /** The judge's outcome, once it has one. */
  judged?: 'judged' | 'unjudged';
}

export type Verdict = 'continue' | 'retry_with_nudge' | 'natural_end' | 'refusal' | 'repetition';

export type WorldEvent =
  | { kind: 'answer' }
  | { kind: 'callFailed' }
  /** The spending cap refused the call. */
  | { kind: 'budgetRefused' }
  /** The cap has room again. */
  | { kind: 'resume' }
  | { kind: 'verdict'; verdict: Verdict }
  | { kind: 'judgeFailed' }
  | { kind: 'deadline' }
  | { kind: 'cancel' }
  | { kind: 'judgement' }
  | { kind: 'judgeCallFailed' };

const FINAL: ReadonlySet<Phase> = new Set(['ended', 'failed', 'timedOut']);

/** An ending of the conversation itself: judged first when a judge is configured and there is something to judge. */
function finish(state: ExpectedConversation, reason: string, options: OracleOptions): ExpectedConversation {
  const judging = options.judge && state.turns > 0;
  return { ...state, phase: judging ? 'judging' : 'ended', reason };
}

/** Asking for the next turn, or ending at the limit. */
function nextTurn(
  state: ExpectedConversation,
  maxTurns: number,
  options: OracleOptions = NO_JUDGE,
): ExpectedConversation {
  return state.turns >= maxTurns ? finish(state, 'max_turns', options) : { ...state, phase: 'calling' };
}

export function start(maxTurns: number, options: OracleOptions = NO_JUDGE): ExpectedConversation {
  return nextTurn(
    { phase: 'calling', turns: 0, discarded: 0, nudges: 0, nudge: false, pending: false },
    maxTurns,
    options,
  );
}

export function restore(
  saved: Omit<ExpectedConversation, 'phase' | 'reason'> & { reason?: string },
  maxTurns: number,
  options: OracleOptions = NO_JUDGE,
  paused = false,
): ExpectedConversation {
  if (paused) return { ...saved, phase: 'paused' };
  // Saved with its ending decided: only the judgement was outstanding.
  if (saved.reason !== undefined) return finish({ ...saved, phase: 'calling' }, saved.reason, options);
  return saved.pending
    ? { ...saved, phase: 'assessing' }
    : nextTurn({ ...saved, phase: 'calling' }, maxTurns, options);
}

export function step(
  state: ExpectedConversation,
  event: WorldEvent,
  maxTurns: number,
  options: OracleOptions = NO_JUDGE,
): ExpectedConversation {
  if (FINAL.has(state.phase)) return state;
  if (state.phase === 'paused') {
    if (event.kind === 'cancel') return { ...state, phase: 'ended', reason: 'cancelled' };
    if (event.kind === 'resume') return { ...state, phase: 'calling' };
    return state;
  }
  if (state.phase === 'judging') {
    if (event.kind === 'judgement') return { ...state, phase: 'ended', judged: 'judged' };
    if (event.kind === 'judgeCallFailed' || event.kind === 'cancel')
      return { ...state, phase: 'ended', judged: 'unjudged' };
    return state;
  }
  if (event.kind === 'deadline') return { ...state, phase: 'timedOut', reason: 'timeout', pending: false };
  if (event.kind === 'cancel') return { ...state, phase: 'ended', reason: 'cancelled', pending: false };
  if (state.phase === 'calling') {
    if (event.kind === 'answer') return { ...state, phase: 'assessing', pending: true };
    if (event.kind === 'callFailed') return { ...state, phase: 'failed', reason: 'provider_failed' };
    if (event.kind === 'budgetRefused') return { ...state, phase: 'paused' };
    return state;
  }
  // Assessing.
  if (event.kind === 'judgeFailed') return { ...state, phase: 'failed', reason: 'provider_failed' };
  if (event.kind !== 'verdict') return state;
  switch (event.verdict) {
    case 'continue':
      return nextTurn({ ...state, turns: state.turns + 1, pending: false, nudge: false }, maxTurns, options);
    case 'retry_with_nudge':
      return {
        ...state,
        phase: 'calling',
        pending: false,
        nudge: true,
        nudges: state.nudges + 1,
        discarded: state.discarded + 1,
      };
    case 'natural_end':
      return finish({ ...state, turns: state.turns + 1, pending: false }, 'natural_end', options);
    default:
      return finish({ ...state, pending: false, discarded: state.discarded + 1 }, event.verdict, options);
  }
}

/** Whether a deadline runs in `phase`: online while the conversation runs, in batch mode only while a call waits. */
export function deadlineRuns(phase: Phase, turnWindows: boolean): boolean {
  return turnWindows ? phase === 'calling' : phase === 'calling' || phase === 'assessing';
}

/** What the next model call must be for: the turn index, the side whose turn it is, and the generation. */
export function expectedCall(state: ExpectedConversation): {
  turnIndex: number;
  speaker: string;
  generation: number;
} {
  return {
    turnIndex: state.turns,
    speaker: state.turns % 2 === 0 ? 'questioner' : 'answerer',
    generation: state.nudge ? state.nudges : 0,
  };
}
