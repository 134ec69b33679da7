/**
 * Named defaults, each with the reason it has that value: the one place a default is written. Keys are the
 * environment variables (and CLI flags) they stand for; the config, the pure machines and the adapters all
 * read them from here, so a default never drifts between the variable's documentation and the code that
 * falls back to it. Pure: no I/O, importable from anywhere.
 */
export const DEFAULTS = {
  MAX_CONVERSATION_TURNS: 10, // the seed's value: long enough for depth, short enough to stay on topic
  MIN_CONVERSATION_TURNS: 5, // the seed's value: a farewell before this is too early to end on
  CONVERSATION_TIMEOUT_SECONDS: 300, // the seed's value: ten slow turns with retries fit
  MAX_CONCURRENT_CONVERSATIONS: 100, // the seed's value; the provider quota is the real limit
  RATE_LIMIT_REQUESTS_PER_MINUTE: 60, // the seed's value, used for any provider without its own *_RPM
  RATE_LIMIT_TOKENS_PER_MINUTE: 100_000, // a conservative entry-tier quota for providers without *_TPM
  RATE_LIMIT_MAX_WAIT_SECONDS: 120, // a turn waits this long for a slot before failing with a typed error
  CIRCUIT_BREAKER_FAILURE_THRESHOLD: 5, // the seed's value: trips before a burst of 429s exhausts the retry budget
  CIRCUIT_BREAKER_COOLDOWN_SECONDS: 30, // long enough for a provider's overload to clear, short enough to not idle
  DRAIN_TIMEOUT_SECONDS: 30, // `run --drain-timeout`: Kubernetes' default termination grace period, so the drain ends before its SIGKILL
  PROVIDER_TIMEOUT_SECONDS: 60, // a long answer at slow decoding speed stays under this
  RETRY_MAX_ATTEMPTS: 4, // one call plus three retries, then the conversation decides
  RETRY_BASE_DELAY_MS: 500, // first backoff ceiling; full jitter spreads a fleet's retries
  RETRY_MAX_DELAY_SECONDS: 30, // cap of one backoff step
  RETRY_MAX_TOTAL_DELAY_SECONDS: 120, // a turn gives up after this much waiting across retries
  LEASE_TTL_SECONDS: 15, // renewed every third of it; a dead daemon's conversations are adopted this fast
  INTAKE_MAX_ATTEMPTS: 5, // with the source's doubling pause (1+2+4+8 s), a message is parked after about 15 s of failures
  REDIS_STREAM_MAX_LENGTH: 100_000, // events (and dead letters) kept per stream in Redis-only mode: days of a busy daemon's events, some hundred MB at most
  REDIS_WAIT_REPLICAS: 0, // replicas that must hold a new conversation's first step before its topic is acknowledged: off
  REDIS_WAIT_TIMEOUT_MS: 1_000, // the longest one WAIT for them blocks (its own connection)
  PARKED_MAX_LENGTH: 10_000, // parked messages kept (the oldest go first): room for a long outage of the dead-letter topic
  MAX_CONVERSATION_CRASHES: 3, // a bug that crashes a conversation twice on adoption will a third time: fail it then
  FINISHED_TTL_SECONDS: 7 * 86_400, // finished records stay a week for export and inspection
  MAX_TOKENS_PER_TURN: 1024, // a conversational turn, not an essay
  TEMPERATURE: 0.8, // varied but coherent dialogue
  TOPIC_MAX_LENGTH: 500, // a news title or short abstract; longer input is rejected, not truncated
  MAX_TOPIC_MESSAGE_BYTES: 64 * 1024, // a 500-character title with 8 KB of metadata is far below; a 50 MB one stalled every daemon
  HTTP_PORT: 9464, // the conventional Prometheus exporter port
  HTTP_HOST: '127.0.0.1', // metrics and readiness are for this machine unless asked (a container sets 0.0.0.0)
  UI_HOST: '127.0.0.1', // the pages show conversation text: this machine only unless asked (and a token set)
  UI_PORT: 9465, // next to HTTP_PORT, used when `run --ui` is given without a port
  VIEW_PORT: 9466, // `chimera view`'s default, so it can run beside a daemon's dashboard
  ANTHROPIC_MODEL: 'claude-sonnet-5-5', // the SDK's current default example; 4.5 reaches end-of-life on 2026-11-30
  GEMINI_MODEL: 'gemini-2.5-flash',
  OPENAI_MODEL: 'gpt-5.4-mini',
  // The simulated provider is local and free: its limits are the highest the configuration accepts, so
  // the limiter never makes its calls wait (at 1e9 tokens a minute a benchmark's calls queued for slots).
  SIMULATED_RPM: 100_000_000,
  SIMULATED_TPM: 1_000_000_000_000,
  REDIS_KEY_PREFIX: 'chimera',
  REDIS_TOPIC_QUEUE: 'chimera:topics:queue',
  KAFKA_CONSUMER_GROUP_ID: 'orchestration-service', // the seed's group id, so existing ACLs keep working
  KAFKA_CLIENT_ID: 'chimera',
  KAFKA_TOPIC_INPUT: 'chimera.topics',
  KAFKA_TOPIC_EVENTS: 'chimera.events',
  KAFKA_TOPIC_DEAD_LETTER: 'chimera.topics.dead-letter',
} as const;
