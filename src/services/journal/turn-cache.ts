import type { Turn } from '../../events.js';
import type { TurnCache, TurnKey } from '../ports.js';
import type { Journal } from './journal.js';

const fieldOf = (key: TurnKey) => `${key.turnIndex}:${key.generation}`;

/**
 * Model answers in the journal: an answer is on disk before `putIfAbsent` returns, so a run killed after
 * a call was answered finds the answer when it resumes and does not send the call again.
 */
export class JournalTurnCache implements TurnCache {
  constructor(private readonly journal: Journal) {}

  async get(key: TurnKey): Promise<Turn | null> {
    await this.journal.barrier();
    return this.journal.state.turns.get(key.conversationId)?.get(fieldOf(key)) ?? null;
  }

  async putIfAbsent(key: TurnKey, turn: Turn): Promise<Turn> {
    const existing = this.journal.state.turns.get(key.conversationId)?.get(fieldOf(key));
    if (existing) {
      await this.journal.barrier();
      return existing;
    }
    await this.journal.commit({ t: 'turn', c: key.conversationId, k: fieldOf(key), turn });
    return turn;
  }

  /** Drops a finished conversation's answers (its turns live on in its snapshot). */
  async forget(conversationId: string): Promise<void> {
    if (!this.journal.state.turns.has(conversationId)) return;
    await this.journal.commit({ t: 'forget', c: conversationId });
  }
}
