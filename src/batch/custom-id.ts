import type { TurnKey } from '../services/ports.js';

/**
 * A request's custom id inside a batch: `(conversationId, turnIndex, generation)`. Providers allow 64
 * characters of `[A-Za-z0-9_-]` (Anthropic), so the parts are joined with `~`-free separators the ids
 * themselves never contain: conversation ids are UUIDs or `[A-Za-z0-9_-]` topic ids.
 */
export function customIdOf(key: TurnKey): string {
  return `${key.conversationId}_t${key.turnIndex}_g${key.generation}`;
}

const PATTERN = /^(.+)_t(\d+)_g(\d+)$/;

/** The turn a custom id names; null for one this program did not make. */
export function turnKeyOf(customId: string): TurnKey | null {
  const match = PATTERN.exec(customId);
  if (!match) return null;
  return { conversationId: match[1]!, turnIndex: Number(match[2]), generation: Number(match[3]) };
}
