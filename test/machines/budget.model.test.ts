import { getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { type BudgetEvent, budgetMachine } from '../../src/machines/budget.js';

/**
 * Model-based test: @xstate/graph walks the machine over a fixed set of events and yields the shortest
 * path to every state it can reach; each path, and each path extended by every event, is replayed on a
 * live actor whose effects are recorded. The expected outcome comes from the reference model below,
 * written from the rules in docs/cost.md and not from the machine: where it is, its figures, the smallest
 * refused worst case, and how many times intake was stopped and resumed.
 */

interface Reference {
  mode: 'open' | 'exhausted';
  cap: number | null;
  spent: number;
  reserved: number;
  refused: number;
  stops: number;
  resumes: number;
}

const START: Reference = { mode: 'open', cap: null, spent: 0, reserved: 0, refused: 0, stops: 0, resumes: 0 };

/** The rules, one case per (mode, event). */
function reference(state: Reference, event: BudgetEvent): Reference {
  const cap = event.capMicros;
  const spent = event.type === 'CAP_RAISED' ? state.spent : event.spentMicros;
  const reserved = event.type === 'CAP_RAISED' ? state.reserved : event.reservedMicros;
  const next = { ...state, cap, spent, reserved };
  const room = cap === null ? Number.POSITIVE_INFINITY : cap - spent - reserved;
  if (state.mode === 'open') {
    if (event.type === 'RESERVE_REFUSED') {
      return {
        ...next,
        mode: 'exhausted',
        refused: Math.max(1, event.worstCaseMicros),
        stops: state.stops + 1,
      };
    }
    if (cap !== null && spent >= cap)
      return { ...next, mode: 'exhausted', refused: 1, stops: state.stops + 1 };
    // Another daemon's refusal, still in the store, that would not fit here either.
    const storedRefusal = event.type === 'SNAPSHOT' ? (event.refusedMicros ?? 0) : 0;
    if (storedRefusal > 0 && room < storedRefusal)
      return { ...next, mode: 'exhausted', refused: storedRefusal, stops: state.stops + 1 };
    return next;
  }
  if (event.type === 'RESERVE_REFUSED') {
    return { ...next, refused: Math.max(1, Math.min(state.refused, event.worstCaseMicros)) };
  }
  if (room >= state.refused) return { ...next, mode: 'open', refused: 0, resumes: state.resumes + 1 };
  return next;
}

const events: BudgetEvent[] = [
  { type: 'RESERVE_REFUSED', worstCaseMicros: 300, capMicros: 1_000, spentMicros: 800, reservedMicros: 0 },
  { type: 'RESERVE_REFUSED', worstCaseMicros: 50, capMicros: 1_000, spentMicros: 980, reservedMicros: 0 },
  { type: 'SNAPSHOT', capMicros: 1_000, spentMicros: 800, reservedMicros: 0 },
  { type: 'SNAPSHOT', capMicros: 1_000, spentMicros: 1_000, reservedMicros: 0 },
  { type: 'SNAPSHOT', capMicros: 1_500, spentMicros: 800, reservedMicros: 100 },
  { type: 'SNAPSHOT', capMicros: 1_100, spentMicros: 800, reservedMicros: 0 }, // room 300: exactly the refused call
  { type: 'SNAPSHOT', capMicros: null, spentMicros: 900, reservedMicros: 0 },
  // The store's last refusal (any daemon's): 400 needed, 200 left; then 400 needed, 500 left.
  { type: 'SNAPSHOT', capMicros: 1_000, spentMicros: 700, reservedMicros: 100, refusedMicros: 400 },
  { type: 'SNAPSHOT', capMicros: 1_000, spentMicros: 500, reservedMicros: 0, refusedMicros: 400 },
  { type: 'CAP_RAISED', capMicros: 1_200 },
  { type: 'CAP_RAISED', capMicros: 5_000 },
  { type: 'CAP_RAISED', capMicros: null },
];

const describeEvent = (e: BudgetEvent) =>
  e.type === 'CAP_RAISED'
    ? `CAP_RAISED(${e.capMicros})`
    : e.type === 'SNAPSHOT'
      ? `SNAPSHOT(cap ${e.capMicros}, spent ${e.spentMicros}, reserved ${e.reservedMicros}${e.refusedMicros ? `, refused ${e.refusedMicros}` : ''})`
      : `REFUSED(${e.worstCaseMicros} at ${e.spentMicros}/${e.capMicros})`;

function replay(steps: readonly BudgetEvent[]) {
  const effects = { stops: 0, resumes: 0 };
  const actor = createActor(
    budgetMachine.provide({
      actions: {
        budgetExhausted: () => {
          effects.stops += 1;
        },
        budgetReopened: () => {
          effects.resumes += 1;
        },
      },
    }),
    { input: {} },
  ).start();
  for (const event of steps) actor.send(event);
  return { snapshot: actor.getSnapshot(), effects };
}

function expectMatches(live: ReturnType<typeof replay>, expected: Reference): void {
  expect(live.snapshot.value).toBe(expected.mode);
  expect(live.snapshot.context).toEqual({
    capMicros: expected.cap,
    spentMicros: expected.spent,
    reservedMicros: expected.reserved,
    refusedMicros: expected.refused,
  });
  expect(live.effects).toEqual({ stops: expected.stops, resumes: expected.resumes });
}

const paths = getShortestPaths(budgetMachine, { input: {}, events });

describe('budget machine model', () => {
  it('reaches both states', () => {
    expect(new Set(paths.map((p) => p.state.value))).toEqual(new Set(['open', 'exhausted']));
  });

  for (const path of paths) {
    const steps = path.steps
      .map((s) => s.event)
      .filter((e) => (e.type as string) !== 'xstate.init') as BudgetEvent[];
    const expected = steps.reduce(reference, START);
    describe(`after ${steps.length ? steps.map(describeEvent).join(' > ') : 'nothing'}`, () => {
      it(`the live actor is ${expected.mode}, as the reference model says`, () => {
        expectMatches(replay(steps), expected);
      });
      for (const event of events) {
        it(`then ${describeEvent(event)}: moves as the reference model says`, () => {
          expectMatches(replay([...steps, event]), reference(expected, event));
        });
      }
    });
  }
});
