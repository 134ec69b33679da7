/**
 * De-duplication of topics by id: the first delivery of an id claims it, and a later message with the
 * same id is a duplicate. A claim remembers which message (`origin`) took it, so a redelivery of that
 * same message (after a release, a crash or a rebalance, before its conversation was persisted) is let
 * through instead of being lost as its own duplicate. Once `complete` is called (the conversation is
 * persisted) every later delivery of the id is a duplicate, the same message included.
 */
export interface TopicClaims {
  /**
   * True when this delivery may start the topic: the id was unclaimed, or it is claimed by the same
   * origin and not completed.
   * @param origin identifies one message at its source (e.g. `kafka:topic:partition:offset`).
   */
  claim(id: string, origin: string): Promise<boolean>;
  /** The topic's conversation is persisted: from now on the id is taken for good. */
  complete(id: string): Promise<void>;
}

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
