export {
  AnthropicProvider,
  type AnthropicProviderOptions,
  mapAnthropicError,
  toAnthropicRequest,
} from './anthropic.js';
export {
  ANTHROPIC_BATCH_LIMITS,
  AnthropicBatchApi,
  type AnthropicBatchApiOptions,
  anthropicBatchState,
  decodeAnthropicCustomId,
  encodeAnthropicCustomId,
} from './batch/anthropic.js';
export type { BatchAdapterOptions } from './batch/common.js';
export {
  GEMINI_BATCH_LIMITS,
  GEMINI_CUSTOM_ID_KEY,
  GeminiBatchApi,
  type GeminiBatchApiOptions,
  geminiBatchState,
} from './batch/gemini.js';
export { OPENAI_BATCH_LIMITS, OpenAiBatchApi, openAiBatchState } from './batch/openai.js';
export {
  type CreateBatchApiOptions,
  type CreateProviderOptions,
  createBatchApi,
  createProvider,
  type HealthCheckAllOptions,
  ProviderFactory,
} from './factory.js';
export {
  GEMINI_API_VERSION,
  GeminiProvider,
  type GeminiProviderOptions,
  isGeminiSpendLimit,
  mapGeminiError,
  toGeminiContents,
} from './gemini.js';
export {
  abortReason,
  codeForStatus,
  isAbortError,
  parseDuration,
  parseRetryAfter,
  safeMessage,
} from './map-error.js';
export { mapOpenAiError, OpenAiProvider, PLACEHOLDER_API_KEY, toOpenAiMessages } from './openai.js';
export { DEFAULT_HEALTH_TIMEOUT_MS, normalizeStopReason, type ProviderAdapterOptions } from './options.js';
export {
  SIMULATED_BATCH_LIMITS,
  SimulatedBatchApi,
  type SimulatedBatchApiOptions,
} from './simulated/batch.js';
export { SIMULATED_MODEL, SimulatedProvider, type SimulatedProviderOptions } from './simulated/provider.js';
