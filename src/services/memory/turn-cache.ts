import type { Turn } from '../../events.js';
import type { TurnCache, TurnKey } from '../ports.js';

const keyOf = (k: TurnKey) => `${k.turnIndex}\u0000${k.generation}`;

/**
 * In-process turn cache for the embedded mode; entries go when their conversation is forgotten. Entries are
 * kept per conversation, so forgetting one costs its own turns, not every conversation's in flight.
 */
export class InMemoryTurnCache implements TurnCache {
  private readonly conversations = new Map<string, Map<string, Turn>>();

  async get(key: TurnKey): Promise<Turn | null> {
    return this.conversations.get(key.conversationId)?.get(keyOf(key)) ?? null;
  }

  async putIfAbsent(key: TurnKey, turn: Turn): Promise<Turn> {
    let turns = this.conversations.get(key.conversationId);
    if (!turns) {
      turns = new Map();
      this.conversations.set(key.conversationId, turns);
    }
    const existing = turns.get(keyOf(key));
    if (existing) return existing;
    turns.set(keyOf(key), turn);
    return turn;
  }

  /** Drops a finished conversation's entries (its turns live on in the snapshot). */
  async forget(conversationId: string): Promise<void> {
    this.conversations.delete(conversationId);
  }

  get size(): number {
    let size = 0;
    for (const turns of this.conversations.values()) size += turns.size;
    return size;
  }
}
