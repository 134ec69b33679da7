import type { TopicClaims } from '../ports.js';

type ClaimState = { completed: false; origin: string } | { completed: true };

/** Claims for one process (the embedded mode); they last as long as the process. */
export class InMemoryTopicClaims implements TopicClaims {
  private readonly claims = new Map<string, ClaimState>();

  async claim(id: string, origin: string): Promise<boolean> {
    const existing = this.claims.get(id);
    if (!existing) {
      this.claims.set(id, { completed: false, origin });
      return true;
    }
    return !existing.completed && existing.origin === origin;
  }

  async complete(id: string): Promise<void> {
    this.claims.set(id, { completed: true });
  }
}
