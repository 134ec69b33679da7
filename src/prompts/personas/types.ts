/**
 * A persona is one side's character, a style is the kind of conversation both sides are having. Each has a
 * stable id (recorded in every record, so a dataset can be sliced by it) and the prompt text itself.
 */

/** One side's character: who it is, what it knows, how it talks and what it wants from the conversation. */
export interface Persona {
  /** Stable, kebab-case; recorded in each record. */
  id: string;
  /** The system prompt of the side that plays it. */
  prompt: string;
}

/** The kind of conversation (interview, debate, tutoring, ...), told to both sides after their persona. */
export interface ConversationStyle {
  id: string;
  prompt: string;
}

/** Everything a conversation's sides and style are drawn from. */
export interface PersonaPool {
  questioners: readonly Persona[];
  answerers: readonly Persona[];
  styles: readonly ConversationStyle[];
}
