import type { AnyActorRef } from 'xstate';
import type { ConversationMachine } from '../machines/conversation.js';
import type { ConversationSpawnInput } from '../machines/supervisor.js';

type Scope = Parameters<ConversationMachine['getInitialSnapshot']>[0];
type Snapshot = ReturnType<ConversationMachine['getInitialSnapshot']>;

interface Overridable {
  getInitialSnapshot(scope: Scope, input: ConversationSpawnInput): Snapshot;
  start(snapshot: Snapshot, scope: Scope): void;
}

/**
 * The `conversation` source the supervisor spawns: the conversation machine, started fresh from
 * `{ start }` or restored from a persisted snapshot in `{ resume }`. XState's `spawn` takes no snapshot,
 * so the restore happens here, in the logic's initial snapshot; a restored in-flight model call is
 * re-run by XState on start (the turn cache makes that call idempotent). Everything else (the
 * definition the inspector shows, transitions, persistence format) is the machine's own.
 *
 * `onStart` sees every conversation actor before it takes its first step: persistence attaches there.
 */
export function conversationLogic(
  machine: ConversationMachine,
  onStart: (actor: AnyActorRef, resumed: boolean) => void,
): ConversationMachine {
  const logic = Object.create(machine) as ConversationMachine;
  const overrides = logic as unknown as Overridable;
  const resumed = new WeakSet<object>();
  overrides.getInitialSnapshot = (scope: Scope, input: ConversationSpawnInput) => {
    if ('resume' in input) {
      resumed.add(scope.self);
      return machine.restoreSnapshot(input.resume as never, scope) as Snapshot;
    }
    return machine.getInitialSnapshot(scope, input.start);
  };
  overrides.start = (snapshot: Snapshot, scope: Scope) => {
    onStart(scope.self, resumed.has(scope.self));
    machine.start(snapshot);
  };
  return logic;
}
