export {
  AnthropicProvider,
  type AnthropicProviderOptions,
  mapAnthropicError,
  toAnthropicRequest,
} from './anthropic.js';
export {
  type CreateProviderOptions,
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
export { SIMULATED_MODEL, SimulatedProvider, type SimulatedProviderOptions } from './simulated/provider.js';
