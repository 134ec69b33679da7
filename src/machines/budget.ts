/**
 * The spending cap as a pure machine, hosted by a composition root (one per daemon, or per `generate`
 * run). It never touches a store: the root feeds it what the `BudgetStore` says (a refused reservation, a
 * periodic snapshot, a cap raised by configuration) and binds its two effects with `provide`:
 * `budgetExhausted` (stop intake, pause conversations at their last completed turn) and `budgetReopened`
 * (resume intake and paused conversations). The defaults throw, so a missing binding fails loudly.
 *
 *   open --RESERVE_REFUSED--> exhausted            (a call could not reserve its worst case)
 *   open --SNAPSHOT, spent >= cap--> exhausted      (the cap was lowered below spend, e.g. `budget set`)
 *   open --SNAPSHOT, headroom < its refusal--> exhausted (another daemon's call was refused and the store
 *                                                     still says so: none of this one's would fit either)
 *   exhausted --SNAPSHOT / CAP_RAISED, headroom >= the smallest refused worst case (or no cap)--> open
 *
 * Headroom is cap - spent - reserved. Reopening only when the refused call would now fit keeps a raise too
 * small for any call from waking every conversation just to pause it again.
 */
import { assign, setup } from 'xstate';

/** Bumped whenever a change makes old persisted snapshots unreadable by this definition. */
export const BUDGET_MACHINE_VERSION = 'budget@1';

export interface BudgetFigures {
  /** Null: no cap. */
  capMicros: number | null;
  spentMicros: number;
  reservedMicros: number;
}

export interface BudgetContext extends BudgetFigures {
  /** The smallest worst case refused since the cap was reached; 0 while open. */
  refusedMicros: number;
}

export type BudgetEvent =
  /** A reservation was refused: the store's figures at that moment and the worst case that did not fit. */
  | ({ type: 'RESERVE_REFUSED'; worstCaseMicros: number } & BudgetFigures)
  /**
   * What the store says now (polled: another daemon or `chimera budget set` may have changed it), with the
   * worst case of the last reservation it refused since one was last granted, whoever asked.
   */
  | ({ type: 'SNAPSHOT'; refusedMicros?: number } & BudgetFigures)
  /** The cap was changed here (configuration reload); figures other than the cap are the last known. */
  | { type: 'CAP_RAISED'; capMicros: number | null };

export type BudgetInput = Partial<BudgetFigures>;

function headroom(context: BudgetFigures): number {
  return context.capMicros === null
    ? Number.POSITIVE_INFINITY
    : context.capMicros - context.spentMicros - context.reservedMicros;
}

function figures(event: BudgetEvent, context: BudgetContext): BudgetFigures {
  if (event.type === 'CAP_RAISED') return { ...context, capMicros: event.capMicros };
  return { capMicros: event.capMicros, spentMicros: event.spentMicros, reservedMicros: event.reservedMicros };
}

export const budgetMachine = setup({
  types: {
    context: {} as BudgetContext,
    events: {} as BudgetEvent,
    input: {} as BudgetInput,
  },
  guards: {
    /** Nothing more can be spent: spend alone is at or past the cap. */
    spentReachesCap: ({ event, context }) => {
      const next = figures(event, context);
      return next.capMicros !== null && next.spentMicros >= next.capMicros;
    },
    /** The store's last refusal, another daemon's as well, still does not fit the headroom. */
    refusalStands: ({ event, context }) =>
      event.type === 'SNAPSHOT' &&
      (event.refusedMicros ?? 0) > 0 &&
      headroom(figures(event, context)) < (event.refusedMicros ?? 0),
    /** The refused call would fit now, or there is no cap any more. */
    refusedCallFits: ({ event, context }) => headroom(figures(event, context)) >= context.refusedMicros,
  },
  actions: {
    recordFigures: assign(({ event, context }) => figures(event, context)),
    recordRefusal: assign(({ event, context }) => {
      if (event.type !== 'RESERVE_REFUSED') return {};
      const refused =
        context.refusedMicros === 0
          ? event.worstCaseMicros
          : Math.min(context.refusedMicros, event.worstCaseMicros);
      // A refusal of a zero worst case still means the cap is reached; 1 is the least a reopening needs.
      return { refusedMicros: Math.max(1, refused) };
    }),
    /** The store's refusal stands: reopen when that call would fit. */
    recordStoredRefusal: assign(({ event }) =>
      event.type === 'SNAPSHOT' ? { refusedMicros: Math.max(1, event.refusedMicros ?? 1) } : {},
    ),
    /** Spend alone reached the cap: any call needs at least one micro of headroom. */
    recordCapReached: assign({ refusedMicros: 1 }),
    clearRefusal: assign({ refusedMicros: 0 }),
    budgetExhausted: () => {
      throw new Error('budgetMachine: provide the budgetExhausted action (stop intake, pause conversations)');
    },
    budgetReopened: () => {
      throw new Error('budgetMachine: provide the budgetReopened action (resume intake and conversations)');
    },
  },
}).createMachine({
  id: 'budget',
  context: ({ input }) => ({
    capMicros: input.capMicros ?? null,
    spentMicros: input.spentMicros ?? 0,
    reservedMicros: input.reservedMicros ?? 0,
    refusedMicros: 0,
  }),
  initial: 'open',
  states: {
    open: {
      on: {
        RESERVE_REFUSED: { target: 'exhausted', actions: ['recordFigures', 'recordRefusal'] },
        SNAPSHOT: [
          { guard: 'spentReachesCap', target: 'exhausted', actions: ['recordFigures', 'recordCapReached'] },
          { guard: 'refusalStands', target: 'exhausted', actions: ['recordFigures', 'recordStoredRefusal'] },
          { actions: 'recordFigures' },
        ],
        CAP_RAISED: [
          { guard: 'spentReachesCap', target: 'exhausted', actions: ['recordFigures', 'recordCapReached'] },
          { actions: 'recordFigures' },
        ],
      },
    },
    exhausted: {
      entry: 'budgetExhausted',
      exit: ['budgetReopened', 'clearRefusal'],
      on: {
        RESERVE_REFUSED: { actions: ['recordFigures', 'recordRefusal'] },
        SNAPSHOT: [
          { guard: 'refusedCallFits', target: 'open', actions: 'recordFigures' },
          { actions: 'recordFigures' },
        ],
        CAP_RAISED: [
          { guard: 'refusedCallFits', target: 'open', actions: 'recordFigures' },
          { actions: 'recordFigures' },
        ],
      },
    },
  },
});
