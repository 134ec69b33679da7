/**
 * Compatibility with the library shape of the service this replaces: `new ConversationManager(clientFactory,
 * stateManager, settings)` and `startNewConversation(topic)`. A thin layer over {@link Chimera}: the
 * factory's clients are the two sides, conversations run (and persist, and publish) exactly as in the
 * daemon, and a state store, when given, also receives each finished conversation's record as its saved
 * state. New code uses `Chimera` directly.
 */
import { Chimera } from '../chimera.js';
import { type Config, chooseSides, type ProviderName } from '../config.js';
import { ChimeraError } from '../errors.js';
import type { ConversationRecord, TopicMessage } from '../events.js';
import { topicRefusal } from '../intake/parse-topic.js';
import type { Logger } from '../logger.js';
import type { Clock, LlmProvider } from '../services/ports.js';
import type { ProviderFactory } from '../services/providers/factory.js';
import type { ConversationStateStore } from './conversation-state-store.js';

export interface ConversationManagerOptions {
  /** @default a JSON logger at the configured level */
  logger?: Logger;
  /** @default the system clock */
  clock?: Clock;
  /** The two sides, questioner first. @default the configured pair, else what has credentials (`chooseSides`) */
  sides?: [ProviderName, ProviderName];
  /**
   * `auto` also consumes the Kafka input topic and the Redis topic queue when they are configured, as the
   * daemon does; `none` runs only topics given to `startNewConversation`.
   * @default 'none'
   */
  intake?: 'auto' | 'none';
}

/** A topic as the seed's examples give it: a title, and where it came from. */
export type TopicInput = Pick<TopicMessage, 'title' | 'source' | 'url' | 'id'>;

export class ConversationManager {
  private chimera: Promise<Chimera> | undefined;
  private readonly saves = new Map<string, Promise<boolean>>();

  /**
   * @param clientFactory provides the client of each side (`clientFactory.get(name)`).
   * @param stateManager when given, each finished conversation's record is saved to it under its id.
   * @param settings the configuration (`loadConfig()`): Redis and Kafka are used when configured.
   */
  constructor(
    private readonly clientFactory: ProviderFactory,
    private readonly stateManager: ConversationStateStore | undefined,
    private readonly settings: Readonly<Config>,
    private readonly options: ConversationManagerOptions = {},
  ) {}

  /** Builds the adapters and starts the runtime; idempotent, and done by the first `startNewConversation`. */
  async start(): Promise<void> {
    await this.running();
  }

  /**
   * Queues a conversation about `topic` and returns its id at once. The same topic (same id, or same
   * title, source and url) maps to the same conversation and is not run twice.
   * @throws {ChimeraError} `invalid_topic` when the topic would be refused by the intake (bad title).
   */
  async startNewConversation(topic: TopicInput): Promise<string> {
    const message = this.checked(topic);
    const chimera = await this.running();
    return chimera.startNewConversation(message);
  }

  /** Resolves with the conversation's final record once it is saved (in the state store too, when given). */
  async waitFor(conversationId: string, timeoutMs?: number): Promise<ConversationRecord> {
    const chimera = await this.running();
    const record = await chimera.waitFor(conversationId, timeoutMs);
    await this.saves.get(conversationId);
    return record;
  }

  /** Drains: in-flight conversations finish (or stop where they are), then every connection closes. */
  async stop(): Promise<void> {
    if (!this.chimera) return;
    const chimera = await this.chimera;
    this.chimera = undefined;
    await chimera.stop();
    await Promise.all(this.saves.values());
  }

  private checked(topic: TopicInput): TopicMessage {
    const refused = topicRefusal(topic, this.settings.conversation);
    if (refused) throw new ChimeraError('invalid_topic', `topic is invalid: ${refused}`);
    return topic;
  }

  private running(): Promise<Chimera> {
    this.chimera ??= this.create();
    return this.chimera;
  }

  private async create(): Promise<Chimera> {
    const sides = this.options.sides ?? chooseSides(this.settings);
    const providerOverrides: Partial<Record<ProviderName, LlmProvider>> = {};
    for (const side of sides) providerOverrides[side] = this.clientFactory.get(side);
    const chimera = await Chimera.create(this.settings, {
      logger: this.options.logger,
      clock: this.options.clock,
      sides,
      intake: this.options.intake ?? 'none',
      providerOverrides,
    });
    const store = this.stateManager;
    if (store) {
      chimera.onFinished((record) => {
        this.saves.set(record.conversationId, store.saveConversationState(record.conversationId, record));
      });
    }
    return chimera.start();
  }
}
