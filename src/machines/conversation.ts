/**
 * One conversation between two models, as a pure XState machine. Everything it does to the world (model
 * calls, quality assessment, the deadline clock) is an injected actor, bound at the composition root with
 * `conversationMachine.provide(...)`; the defaults here throw, so a missing binding fails loudly.
 *
 * It starts from a new conversation's input, or from the context persisted at the last saved step of one
 * adopted from the store (`{ restore }`): then it first goes through `restoring`, which picks up where that
 * step left off. Nothing else survives persistence: the deadline is re-armed from `startedAt`.
 *
 * A model call that was in flight is never sent twice under one (turn, generation). Entering
 * `callingModel` records the call (`inFlight`), and the call actor sends nothing before that step is
 * durable, so a persisted snapshot without `inFlight` for a call proves it was not sent. Restored with
 * `inFlight`, the call is first looked up (the turn cache hands back an answer already paid for); when no
 * answer was recorded it may still have reached the provider, so the actor fails it as lost (`call_lost`)
 * and the turn is asked for again under the next generation, the loss kept in `lostCalls`.
 *
 *   starting --new--> running
 *            --restore--> restoring --answer pending--> running.assessingQuality
 *                                   --otherwise--> running (awaitingTurn)
 *   running
 *     awaitingTurn --(turns < max)--> callingModel --done--> assessingQuality --continue--> awaitingTurn
 *                  --(turns = max)--> ended(max_turns)          |                --natural_end--> ended
 *                                     --error--> failed          |                --refusal / repetition--> ended
 *                                                                --retry_with_nudge--> callingModel
 *     TIMEOUT (deadline actor) --> timedOut
 *     CANCEL --> ended(cancelled)
 *   callingModel --error budget_exhausted (the spending cap refused the call; nothing was sent)--> paused
 *   paused --RESUME (the cap has room again)--> running (awaitingTurn: the same turn is asked for again)
 *          --CANCEL--> ended(cancelled)
 *   callingModel --error call_lost (restored in flight, no answer recorded)--> callingModel (generation + 1)
 *   While paused the deadline does not run: time paused is added to it (`pausedMs`).
 *   ended by the turn limit, a natural end, a refusal or a repetition --> closing
 *   closing --judge configured and turns kept--> judging --verdict, or unjudged on any failure--> ended
 *           --otherwise--> ended
 *
 * The judge (`judge` actor) scores the finished conversation; its failure never fails the conversation,
 * which then ends `unjudged` with the reason. The deadline does not reach the judge (it runs after).
 */
import { and, assign, fromCallback, fromPromise, raise, setup } from 'xstate';
import type {
  DiscardedTurn,
  JudgeVerdict,
  LostCall,
  QualityMetrics,
  Speaker,
  TerminationReason,
  Topic,
  Turn,
} from '../events.js';
import type { Provenance } from '../provenance/schema.js';
import type { TurnVerdict } from '../quality/assess-turn.js';
import { computeQuality } from '../quality/compute-quality.js';

/** Bumped whenever a change makes old persisted snapshots unreadable by this definition. */
export const CONVERSATION_MACHINE_VERSION = 'conversation@1';

export interface ConversationSettings {
  maxTurns: number;
  minTurns: number;
  /** The whole conversation's deadline, from `startedAt` (ignored when `turnWindowMs` is set). */
  timeoutMs: number;
  /**
   * Batch mode: each turn gets its own window of this long from when it first asked for its answer, and the
   * conversation times out when one turn waits longer; there is no deadline on the total. Absent online.
   */
  turnWindowMs?: number;
  maxTokensPerTurn: number;
  temperature: number;
}

export interface ConversationInput {
  conversationId: string;
  topic: Topic;
  /** Provider name per side; the questioner opens. */
  providers: Record<Speaker, string>;
  /** System prompt per side. */
  personas: Record<Speaker, string>;
  settings: ConversationSettings;
  /** Epoch ms; the deadline is derived from it, so it survives persistence. */
  startedAt: number;
  /** How the conversation was set up (personas, style, versions, seed), copied into its record. */
  provenance?: Provenance;
}

/** Input of a conversation adopted from the store: its context as of the last saved step. */
export interface ConversationRestore {
  restore: ConversationContext;
}

/** What the machine starts from: a new conversation, or one restored from its persisted context. */
export type ConversationStart = ConversationInput | ConversationRestore;

export interface ConversationError {
  code: string;
  message: string;
}

export interface ConversationContext extends ConversationInput {
  turns: Turn[];
  /** The turn just generated, waiting for its quality verdict. */
  pending?: Turn;
  /** True while the current turn is being regenerated after a repetition warning. */
  nudge: boolean;
  /** How many regenerations this conversation has used (see `assessTurn`'s repetition policy). */
  nudges: number;
  status: 'active' | 'ended' | 'failed' | 'timedOut';
  terminationReason?: TerminationReason;
  quality?: QualityMetrics;
  error?: ConversationError;
  endedAt?: number;
  /** Generated turns not kept, with why. Absent in snapshots persisted before it existed. */
  discarded?: DiscardedTurn[];
  /**
   * Set while paused at the last completed turn: the spending cap refused the next call (`reason`), at
   * `at` (epoch ms). `status` stays `active`: a paused conversation is not finished, and resumes.
   */
  paused?: { reason: 'budget'; at: number };
  /** Time spent paused, added to the deadline. Absent until the conversation is first resumed. */
  pausedMs?: number;
  /**
   * With `settings.turnWindowMs`: the call whose window runs (turn index and generation) and since when
   * (epoch ms), saved with each step so a restored conversation keeps the window its turn already used.
   */
  turnWindow?: { turnIndex: number; generation: number; since: number };
  /** The judge's verdict (`judging`), when a judge is configured. */
  judge?: JudgeVerdict;
  /**
   * The model call being made (set on entering `callingModel`, cleared on leaving it). Persisted before
   * the call is sent; `recovered` marks one found in a restored snapshot, which may have been sent.
   */
  inFlight?: CallKey & { recovered?: true };
  /** Calls lost in flight to a crash; each moved its turn to the next generation. */
  lostCalls?: LostCall[];
}

/** Which call of a conversation: its turn index and generation (the `Idempotency-Key`'s last parts). */
export interface CallKey {
  turnIndex: number;
  generation: number;
}

/**
 * The generation of the next call: 0 for a turn's first call, then one more for each nudged
 * regeneration (`nudges`, counted over the conversation) and for each call lost to a crash. Both counts
 * only grow and one of them grows between two calls of the same turn, so a turn never calls twice under
 * one generation; a conversation without nudges or losses calls every turn under 0.
 */
export function callKeyOf(
  context: Pick<ConversationContext, 'turns' | 'nudge' | 'nudges' | 'lostCalls'>,
): CallKey {
  return {
    turnIndex: context.turns.length,
    generation: (context.nudge ? context.nudges : 0) + (context.lostCalls?.length ?? 0),
  };
}

/** What the judge actor gets: the finished conversation's text. */
export interface JudgeInput {
  conversationId: string;
  topic: Topic;
  turns: Turn[];
  terminationReason?: TerminationReason;
}

/**
 * The unjudged verdict for a judge actor's error: the verdict it carries (`JudgeFailedError`, with the
 * usage already spent), else one naming the error.
 */
function unjudged(error: unknown): JudgeVerdict {
  const carried = (error as { verdict?: JudgeVerdict } | null)?.verdict;
  if (carried && carried.status === 'unjudged') return carried;
  const { code, message } = errorOf(error);
  return {
    status: 'unjudged',
    reason: `${code}: ${message}`,
    usage: { inputTokens: 0, outputTokens: 0 },
    attempts: 0,
  };
}

/** The pending turn, marked as discarded by an assessment (kept in the full record, never trained on). */
function discard(
  context: ConversationContext,
  output: AssessTurnOutput,
  regenerated: boolean,
): DiscardedTurn[] {
  const kept = context.discarded ?? [];
  if (!context.pending) return kept;
  const reason = output.verdict === 'refusal' ? 'refusal' : 'repetition';
  return [
    ...kept,
    { ...context.pending, reason, regenerated, ...(output.detail ? { detail: output.detail } : {}) },
  ];
}

/** What the model-calling actor gets: everything needed to build the request and make it idempotent. */
export interface CallModelInput {
  conversationId: string;
  turnIndex: number;
  /** Distinguishes a nudged regeneration of the same turn index from the first attempt. */
  generation: number;
  speaker: Speaker;
  provider: string;
  topic: Topic;
  systemPrompt: string;
  turns: Turn[];
  nudge: boolean;
  maxTokens: number;
  temperature: number;
  /** Epoch ms after which the conversation times out. */
  deadlineAt: number;
  /**
   * This call was in flight when the conversation was last saved by a process that is gone: it may have
   * reached the provider. Its recorded answer is used; without one it must not be sent again (`call_lost`).
   */
  mayHaveBeenSent?: boolean;
}

export interface AssessTurnInput {
  /** The answer to judge. */
  text: string;
  /**
   * The kept turns before it, in order: the context's own (immutable) turn objects, under which the quality
   * checks remember what they computed for each turn.
   */
  previous: readonly Turn[];
  turnIndex: number;
  minTurns: number;
  /** Nudged regenerations used so far, this attempt included when it is one. */
  nudgesUsed: number;
}

export type { TurnVerdict };

export interface AssessTurnOutput {
  verdict: TurnVerdict;
  detail?: string;
}

/**
 * The quality verdict on an answer: pure computation on its text and the kept turns, so it runs as a step
 * of the machine (`assessTurnStep`) rather than as an invoked actor. It may throw: the conversation then
 * fails (`provider_failed`) with the error, as a failed call does.
 */
export type AssessTurn = (input: AssessTurnInput) => AssessTurnOutput;

/** What the assessment of the pending answer is, from the context. */
function assessTurnInputOf(context: ConversationContext): AssessTurnInput {
  return {
    text: context.pending?.text ?? '',
    previous: context.turns,
    turnIndex: context.turns.length,
    minTurns: context.settings.minTurns,
    nudgesUsed: context.nudges,
  };
}

/** The machine's own events for the verdict on the pending answer, raised by `assessTurnStep`. */
export type TurnAssessedEvent =
  | { type: 'TURN_ASSESSED'; output: AssessTurnOutput }
  | { type: 'TURN_ASSESSMENT_FAILED'; error: unknown };

/**
 * The `assessTurn` action bound to `assess`: on entering `assessingQuality` it judges the pending answer and
 * raises the verdict (`TURN_ASSESSED`, or `TURN_ASSESSMENT_FAILED` when `assess` throws), which the machine
 * takes within the same macrostep. No actor, abort signal or asynchronous hop per turn: an invoked promise
 * actor for a few microseconds of text measures cost more than the measures.
 */
export function assessTurnStep(assess: AssessTurn) {
  return raise<ConversationContext, ConversationMachineEvent, ConversationMachineEvent, undefined>(
    ({ context }): TurnAssessedEvent => {
      try {
        return { type: 'TURN_ASSESSED', output: assess(assessTurnInputOf(context)) };
      } catch (error) {
        return { type: 'TURN_ASSESSMENT_FAILED', error };
      }
    },
  );
}

export interface ConversationOutput {
  conversationId: string;
  status: 'ended' | 'failed' | 'timedOut';
  terminationReason: TerminationReason;
}

/** What the conversation machine reacts to (not the Kafka `ConversationEvent`s in `events.ts`). */
export type ConversationMachineEvent =
  | { type: 'TIMEOUT' }
  | { type: 'CANCEL' }
  /** The spending cap has room again: a paused conversation asks for its next turn. `at`: epoch ms. */
  | { type: 'RESUME'; at: number }
  | { type: 'xstate.done.actor.callModel'; output: Turn }
  | TurnAssessedEvent
  | { type: 'xstate.done.actor.judge'; output: JudgeVerdict };

export function speakerFor(turnIndex: number): Speaker {
  return turnIndex % 2 === 0 ? 'questioner' : 'answerer';
}

/**
 * The whole conversation's deadline (its start, plus the timeout, plus time paused); null when each turn
 * has a window of its own instead (batch mode, `settings.turnWindowMs`).
 */
export function deadlineOf(
  context: Pick<ConversationContext, 'startedAt' | 'settings' | 'pausedMs'>,
): number | null {
  if (context.settings.turnWindowMs !== undefined) return null;
  return context.startedAt + context.settings.timeoutMs + (context.pausedMs ?? 0);
}

/** The current call's deadline: its turn window's end in batch mode, else the conversation's deadline. */
export function callDeadlineOf(
  context: Pick<ConversationContext, 'startedAt' | 'settings' | 'pausedMs' | 'turnWindow'>,
): number {
  const window = context.settings.turnWindowMs;
  if (window === undefined) return deadlineOf(context)!;
  return (context.turnWindow?.since ?? context.startedAt) + window;
}

/**
 * The turn window once the due call asks at `now`: unchanged when it is the call whose window already
 * runs (a restored conversation asking again keeps its window), a new one from `now` otherwise. Nothing
 * without `settings.turnWindowMs`.
 */
export function turnWindowAt(
  context: Pick<ConversationContext, 'settings' | 'turns' | 'nudge' | 'nudges' | 'lostCalls' | 'turnWindow'>,
  now: number,
): ConversationContext['turnWindow'] {
  if (context.settings.turnWindowMs === undefined) return context.turnWindow;
  const due = callKeyOf(context);
  const current = context.turnWindow;
  if (current && current.turnIndex === due.turnIndex && current.generation === due.generation) return current;
  return { ...due, since: now };
}

/** The error of a call lost in flight to a crash (`CallLostError`): what the loss is recorded as. */
function lostCallOf(error: unknown, key: CallKey): LostCall {
  const { at, worstCaseMicros } = (error ?? {}) as { at?: unknown; worstCaseMicros?: unknown };
  return {
    ...key,
    at: typeof at === 'number' ? at : 0,
    worstCaseMicros: typeof worstCaseMicros === 'number' ? worstCaseMicros : 0,
  };
}

function isCallLost(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'call_lost';
}

/** The error of a call the spending cap refused (`BudgetExhaustedError`): not a provider failure. */
function isBudgetRefusal(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'budget_exhausted'
  );
}

function errorOf(error: unknown): ConversationError {
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return { code: typeof code === 'string' ? code : 'unknown', message: String(message ?? error) };
  }
  return { code: 'unknown', message: String(error) };
}

const unbound = (name: string) => () => {
  throw new Error(`conversation machine: actor "${name}" was not provided`);
};

/**
 * Whether the machine was started from `{ restore }`. The input reaches the first transitions in the
 * `xstate.init` event, which is how `starting` tells a restore from a new conversation without a flag in
 * the context (the persisted context stays exactly what it was).
 */
function isRestore(event: { type: string }): boolean {
  const input = (event as { input?: ConversationStart }).input;
  return event.type === 'xstate.init' && input !== undefined && 'restore' in input;
}

export const conversationMachine = setup({
  types: {
    context: {} as ConversationContext,
    input: {} as ConversationStart,
    events: {} as ConversationMachineEvent,
    output: {} as ConversationOutput,
  },
  actors: {
    callModel: fromPromise<Turn, CallModelInput>(unbound('callModel')),
    /**
     * Sends TIMEOUT at `at` (epoch ms; never when null). Re-armed from the stored start (or the stored turn
     * window) whenever the actor is restored.
     */
    deadline: fromCallback<{ type: 'TIMEOUT' }, { at: number | null }>(unbound('deadline')),
    /** Scores the finished conversation; rejects with the unjudged verdict when it cannot. */
    judge: fromPromise<JudgeVerdict, JudgeInput>(unbound('judge')),
  },
  actions: {
    /**
     * Judges the pending answer and raises the verdict (`TURN_ASSESSED` / `TURN_ASSESSMENT_FAILED`): bind it
     * with `assessTurnStep(assess)` at the composition root.
     */
    assessTurn: raise<ConversationContext, ConversationMachineEvent, ConversationMachineEvent, undefined>(
      () => unbound('assessTurn')(),
    ),
    /** Stamps the end time; bound at the composition root to the injected clock. */
    stampEnd: assign({ endedAt: ({ context }) => context.startedAt }),
    /** Marks the conversation paused for budget; bound at the composition root to stamp the clock's time. */
    pause: assign({ paused: ({ context }) => ({ reason: 'budget' as const, at: context.startedAt }) }),
    /** Starts the due call's turn window (batch mode); bound at the composition root to the clock's time. */
    stampTurn: assign({ turnWindow: ({ context }) => turnWindowAt(context, context.startedAt) }),
    score: assign({
      quality: ({ context }) => ({
        ...computeQuality(context.turns, { terminationReason: context.terminationReason }),
        ...(context.judge ? { judge: context.judge } : {}),
      }),
    }),
  },
  guards: {
    maxTurnsReached: ({ context }) => context.turns.length >= context.settings.maxTurns,
    restored: ({ event }) => isRestore(event),
    answerPending: ({ context }) => context.pending !== undefined,
    isPaused: ({ context }) => context.paused !== undefined,
    budgetRefused: ({ event }) => isBudgetRefusal((event as { error?: unknown }).error),
    callLost: ({ event }) => isCallLost((event as { error?: unknown }).error),
    callInFlight: ({ context }) => context.inFlight !== undefined,
    /** A judge is configured (`JUDGE_PROVIDER`); bound at the composition root. @default false */
    judgeEnabled: () => false,
    hasTurns: ({ context }) => context.turns.length > 0,
    /** Saved after its ending was decided, before the judge answered. */
    awaitingJudgement: ({ context }) =>
      context.status === 'active' && context.terminationReason !== undefined,
  },
}).createMachine({
  id: 'conversation',
  context: ({ input }) =>
    'restore' in input
      ? { ...input.restore }
      : { ...input, turns: [], nudge: false, nudges: 0, status: 'active' },
  initial: 'starting',
  output: ({ context }) => ({
    conversationId: context.conversationId,
    status: context.status === 'active' ? 'ended' : context.status,
    terminationReason: context.terminationReason ?? 'provider_failed',
  }),
  states: {
    starting: {
      always: [{ guard: 'restored', target: 'restoring' }, { target: 'running' }],
    },
    /**
     * Where the last saved step left off: an answer that was waiting for its verdict is assessed again;
     * otherwise the conversation waits for its next turn, which calls the model (again, for a call that was
     * in flight: the turn cache hands back an answer already paid for) or ends it at the turn limit.
     */
    restoring: {
      always: [
        { guard: 'isPaused', target: 'paused' },
        { guard: 'awaitingJudgement', target: '#conversation.closing' },
        { guard: 'answerPending', target: '#conversation.running.assessingQuality' },
        // Saved while calling: that call may have been sent (its answer, if recorded, is used).
        {
          guard: 'callInFlight',
          target: '#conversation.running',
          actions: assign({
            inFlight: ({ context }) => ({ ...context.inFlight!, recovered: true as const }),
          }),
        },
        { target: '#conversation.running' },
      ],
    },
    running: {
      // Entered on every start and every restore: the deadline is always derived from the stored start.
      invoke: { src: 'deadline', input: ({ context }) => ({ at: deadlineOf(context) }) },
      on: {
        TIMEOUT: {
          target: 'timedOut',
          actions: assign({ terminationReason: 'timeout', pending: undefined }),
        },
        CANCEL: {
          target: 'ended',
          actions: assign({ terminationReason: 'cancelled', pending: undefined }),
        },
      },
      initial: 'awaitingTurn',
      states: {
        awaitingTurn: {
          always: [
            {
              guard: 'maxTurnsReached',
              target: '#conversation.closing',
              actions: assign({ terminationReason: 'max_turns' }),
            },
            { target: 'callingModel' },
          ],
        },
        callingModel: {
          // Recorded before the call is sent (the call actor waits for this step to be durable).
          entry: [
            'stampTurn',
            assign({
              inFlight: ({ context }) => {
                const key = callKeyOf(context);
                const restored = context.inFlight;
                return restored?.recovered &&
                  restored.turnIndex === key.turnIndex &&
                  restored.generation === key.generation
                  ? restored
                  : key;
              },
            }),
          ],
          exit: assign({ inFlight: undefined }),
          invoke: [
            {
              // Batch mode: the turn's own window (null, never firing, online).
              src: 'deadline',
              input: ({ context }) => ({
                at: context.settings.turnWindowMs === undefined ? null : callDeadlineOf(context),
              }),
            },
            {
              id: 'callModel',
              src: 'callModel',
              input: ({ context }) => {
                const { turnIndex, generation } = callKeyOf(context);
                const speaker = speakerFor(turnIndex);
                return {
                  conversationId: context.conversationId,
                  turnIndex,
                  generation,
                  speaker,
                  provider: context.providers[speaker],
                  topic: context.topic,
                  systemPrompt: context.personas[speaker],
                  turns: context.turns,
                  nudge: context.nudge,
                  maxTokens: context.settings.maxTokensPerTurn,
                  temperature: context.settings.temperature,
                  deadlineAt: callDeadlineOf(context),
                  ...(context.inFlight?.recovered ? { mayHaveBeenSent: true } : {}),
                };
              },
              onDone: {
                target: 'assessingQuality',
                actions: assign({ pending: ({ event }) => event.output }),
              },
              onError: [
                // The cap refused the call before it was sent: wait at the last completed turn (the turn's
                // window starts again when it asks after the pause).
                {
                  guard: 'budgetRefused',
                  target: '#conversation.paused',
                  actions: ['pause', assign({ turnWindow: undefined })],
                },
                // Lost in flight to a crash: ask for the same turn under the next generation (a new window).
                {
                  guard: 'callLost',
                  target: 'callingModel',
                  reenter: true,
                  actions: assign({
                    lostCalls: ({ context, event }) => [
                      ...(context.lostCalls ?? []),
                      lostCallOf(event.error, callKeyOf(context)),
                    ],
                  }),
                },
                {
                  target: '#conversation.failed',
                  actions: assign({
                    terminationReason: 'provider_failed',
                    error: ({ event }) => errorOf(event.error),
                  }),
                },
              ],
            },
          ],
        },
        // The verdict is computed on entry and raised: the machine leaves this state within the same
        // macrostep (a snapshot saved here comes only from a daemon of an earlier version, which assessed
        // through an actor; `restoring` brings it back here and it is assessed again).
        assessingQuality: {
          entry: 'assessTurn',
          on: {
            TURN_ASSESSED: [
              {
                guard: ({ event }) => event.output.verdict === 'continue',
                target: 'awaitingTurn',
                actions: assign({
                  turns: ({ context }) => [...context.turns, context.pending!],
                  pending: undefined,
                  nudge: false,
                }),
              },
              {
                guard: ({ event }) => event.output.verdict === 'retry_with_nudge',
                target: 'callingModel',
                actions: assign({
                  discarded: ({ context, event }) => discard(context, event.output, true),
                  pending: undefined,
                  nudge: true,
                  nudges: ({ context }) => context.nudges + 1,
                }),
              },
              {
                guard: ({ event }) => event.output.verdict === 'natural_end',
                target: '#conversation.closing',
                actions: assign({
                  turns: ({ context }) => [...context.turns, context.pending!],
                  pending: undefined,
                  terminationReason: 'natural_end',
                }),
              },
              {
                // Refusal or repetition: the offending turn is not kept as training data.
                target: '#conversation.closing',
                actions: assign({
                  discarded: ({ context, event }) => discard(context, event.output, false),
                  pending: undefined,
                  terminationReason: ({ event }) =>
                    event.output.verdict === 'refusal' ? 'refusal' : 'repetition',
                }),
              },
            ],
            TURN_ASSESSMENT_FAILED: {
              target: '#conversation.failed',
              actions: assign({
                terminationReason: 'provider_failed',
                error: ({ event }) => errorOf(event.error),
              }),
            },
          },
        },
      },
    },
    /** Stopped at the last completed turn by the spending cap (outside `running`: no deadline runs). */
    paused: {
      on: {
        RESUME: {
          target: 'running',
          actions: assign(({ context, event }) => ({
            paused: undefined,
            pausedMs: (context.pausedMs ?? 0) + Math.max(0, event.at - (context.paused?.at ?? event.at)),
          })),
        },
        CANCEL: {
          target: 'ended',
          actions: assign({ terminationReason: 'cancelled', paused: undefined }),
        },
      },
    },
    closing: {
      always: [{ guard: and(['judgeEnabled', 'hasTurns']), target: 'judging' }, { target: 'ended' }],
    },
    judging: {
      invoke: {
        id: 'judge',
        src: 'judge',
        input: ({ context }) => ({
          conversationId: context.conversationId,
          topic: context.topic,
          turns: context.turns,
          terminationReason: context.terminationReason,
        }),
        onDone: { target: 'ended', actions: assign({ judge: ({ event }) => event.output }) },
        // A judge failure never fails the conversation: it ends, unjudged, with the reason.
        onError: { target: 'ended', actions: assign({ judge: ({ event }) => unjudged(event.error) }) },
      },
      on: {
        CANCEL: {
          target: 'ended',
          actions: assign({
            judge: () => unjudged({ code: 'cancelled', message: 'cancelled while judging' }),
          }),
        },
      },
    },
    ended: { type: 'final', entry: [assign({ status: 'ended' }), 'stampEnd', 'score'] },
    failed: { type: 'final', entry: [assign({ status: 'failed' }), 'stampEnd', 'score'] },
    timedOut: { type: 'final', entry: [assign({ status: 'timedOut' }), 'stampEnd', 'score'] },
  },
});

export type ConversationMachine = typeof conversationMachine;
