/**
 * Reading the fake provider server's request log: which requests carry the same turn. A retry of a turn
 * re-sends the same conversation (same system prompt, same messages) to the same model, so requests are
 * grouped by their body, whatever the SDK.
 */
import { createHash } from 'node:crypto';
import type { ReceivedRequest } from '../../../tools/fake-provider/behaviours.js';

/** Identifies the turn a model call is for: same dialect, path and body means a retry of the same call. */
export function turnKeyOf(request: ReceivedRequest): string {
  return createHash('sha256')
    .update(`${request.dialect} ${request.path} ${JSON.stringify(request.body)}`)
    .digest('hex')
    .slice(0, 24);
}

/** Model calls only (health checks left out), grouped by turn, each group in arrival order. */
export function callsByTurn(requests: readonly ReceivedRequest[]): Map<string, ReceivedRequest[]> {
  const groups = new Map<string, ReceivedRequest[]>();
  for (const request of requests) {
    if (request.operation !== 'generate') continue;
    const key = turnKeyOf(request);
    const list = groups.get(key) ?? [];
    list.push(request);
    groups.set(key, list);
  }
  for (const list of groups.values()) list.sort((a, b) => a.seq - b.seq);
  return groups;
}

/** Whether a request body mentions `text` anywhere (the topic title travels in the first message). */
export function bodyMentions(request: ReceivedRequest, text: string): boolean {
  return JSON.stringify(request.body).includes(text);
}
