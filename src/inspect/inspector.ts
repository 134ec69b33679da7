/**
 * `chimera run --inspect`: the Stately inspector wired to the service. Inspection events of every actor
 * (the supervisor, each conversation and its child actors, each circuit breaker) are converted to the
 * Stately inspection protocol by `@statelyai/inspect` and handed straight to the relay server, which
 * forwards them to the browser; no WebSocket round trip through the same process.
 */
import { createInspector } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';
import { type InspectorRelay, type InspectorRelayOptions, startInspectorRelay } from './relay-server.js';

export interface ChimeraInspector {
  /** Pass as `ChimeraOptions.inspect`. */
  inspect(event: InspectionEvent): void;
  relay: InspectorRelay;
  stop(): Promise<void>;
}

/** Starts the relay server and an inspector that feeds it. */
export async function startInspector(options: InspectorRelayOptions = {}): Promise<ChimeraInspector> {
  const relay = await startInspectorRelay(options);
  const inspector = createInspector({ send: (event) => relay.broadcast(event) });
  let stopped = false;
  return {
    inspect(event) {
      if (!stopped) inspector.inspect.next?.(event);
    },
    relay,
    async stop() {
      stopped = true;
      inspector.stop();
      await relay.close();
    },
  };
}
