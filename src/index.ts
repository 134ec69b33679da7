/**
 * The package entry point (`import { ... } from 'chimera'`): the building blocks of the service's usage
 * examples in TypeScript form — provider clients, the factory with `healthCheckAll`, the conversation
 * manager, the state store, the configuration — plus the service class, errors, event schemas, machines
 * and ports for those who compose their own.
 */

// The service
export { Chimera, type ChimeraOptions } from './chimera.js';
// The seed-style library API, a thin layer over Chimera
export {
  ConversationManager,
  type ConversationManagerOptions,
  type TopicInput,
} from './compat/conversation-manager.js';
export {
  ConversationStateStore,
  type ConversationStateStoreOptions,
} from './compat/conversation-state-store.js';
// Configuration
export {
  type Config,
  chooseSides,
  DEFAULTS,
  type KafkaConfig,
  loadConfig,
  PROVIDER_NAMES,
  type ProviderConfig,
  type ProviderName,
  type RedisConfig,
} from './config.js';
// Errors
export {
  ChimeraError,
  CircuitOpenError,
  ConfigError,
  type ErrorCode,
  InvalidEventError,
  InvalidSnapshotError,
  isChimeraError,
  isCircuitOpenError,
  isConfigError,
  isInvalidEventError,
  isProviderError,
  isStaleLeaseError,
  ProviderError,
  type ProviderErrorCode,
  RateLimitWaitError,
  RETRYABLE_PROVIDER_CODES,
  StaleLeaseError,
} from './errors.js';
// Events: the typed event map and its schemas
export {
  type ConversationEvent,
  type ConversationRecord,
  conversationEventSchema,
  conversationRecordSchema,
  deriveTopicId,
  EVENT_HEADERS,
  type EventTopics,
  eventTopicSchemas,
  type QualityMetrics,
  qualitySchema,
  type Speaker,
  type TerminationReason,
  type Topic,
  type TopicMessage,
  type Turn,
  topicMessageSchema,
  topicSchema,
  turnSchema,
  type Usage,
} from './events.js';
export { DatasetWriter, type DatasetWriterOptions } from './export/dataset-writer.js';
// Dataset formats
export {
  DATASET_FORMATS,
  type DatasetFormat,
  type FormatOptions,
  formatRecord,
  type OpenAiExample,
  type ShareGptExample,
  toOpenAi,
  toShareGpt,
} from './export/formats.js';
// Topics
export { publishTopics } from './intake/enqueue.js';
export { createLogger, type Logger, type LoggerSettings } from './logger.js';
// Machines (pure; bind their effects with `machine.provide`)
export {
  type CircuitBreakerContext,
  type CircuitBreakerState,
  circuitBreakerMachine,
} from './machines/circuit-breaker.js';
export {
  type ConversationContext,
  type ConversationInput,
  type ConversationRestore,
  type ConversationStart,
  conversationMachine,
} from './machines/conversation.js';
export type { ConversationReport, ShardReleased, Work } from './machines/supervision.js';
export { DEFAULT_SHARD_CAPACITY, supervisorMachine } from './machines/supervisor.js';
export { supervisorShardMachine } from './machines/supervisor-shard.js';
export { validateTopicTitle } from './prompts/topic-title.js';
export { toRecord } from './records.js';

// Resilience
export { ProviderBreaker, type ProviderBreakerOptions } from './resilience/provider-breaker.js';
export { MemorySnapshotStore } from './services/memory/snapshot-store.js';
// Ports
export type {
  BreakerStateStore,
  ChatMessage,
  Clock,
  EventBus,
  GenerateRequest,
  GenerateResult,
  HealthStatus,
  LeaderLock,
  LlmProvider,
  Ownership,
  RateLimiter,
  SnapshotStore,
  TopicClaims,
  TopicSource,
  TurnCache,
} from './services/ports.js';
// Provider clients
export {
  AnthropicProvider,
  type AnthropicProviderOptions,
  type CreateProviderOptions,
  createProvider,
  GeminiProvider,
  type GeminiProviderOptions,
  type HealthCheckAllOptions,
  OpenAiProvider,
  ProviderFactory,
  SimulatedProvider,
  type SimulatedProviderOptions,
} from './services/providers/index.js';
export { RedisSnapshotStore, type RedisSnapshotStoreOptions } from './services/redis/snapshot-store.js';
export { enqueueTopic } from './services/redis/topic-queue.js';
