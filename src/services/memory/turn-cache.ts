import type { Turn } from '../../events.js';
import type { TurnCache, TurnKey } from '../ports.js';

const keyOf = (k: TurnKey) => `${k.conversationId}\u0000${k.turnIndex}\u0000${k.generation}`;

/** In-process turn cache for the embedded mode; entries go when their conversation is forgotten. */
export class InMemoryTurnCache implements TurnCache {
  private readonly turns = new Map<string, Turn>();

  async get(key: TurnKey): Promise<Turn | null> {
    return this.turns.get(keyOf(key)) ?? null;
  }

  async putIfAbsent(key: TurnKey, turn: Turn): Promise<Turn> {
    const existing = this.turns.get(keyOf(key));
    if (existing) return existing;
    this.turns.set(keyOf(key), turn);
    return turn;
  }

  /** Drops a finished conversation's entries (its turns live on in the snapshot). */
  forget(conversationId: string): void {
    const prefix = `${conversationId}\u0000`;
    for (const key of this.turns.keys()) if (key.startsWith(prefix)) this.turns.delete(key);
  }

  get size(): number {
    return this.turns.size;
  }
}
