import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type CostConfig, costConfigFrom } from './cost/config.js';
import { DEFAULTS } from './defaults.js';
import { ConfigError } from './errors.js';
import { BATCHER_DEFAULTS } from './machines/batcher.js';
import { loadPersonasFile } from './personas-file.js';
import { BUILTIN_POOL } from './prompts/personas/builtin.js';
import type { PersonaPool } from './prompts/personas/types.js';
import { parseHostPort, redisSecrets, sentinelUrl } from './redis-url.js';

export { DEFAULTS };

/**
 * Configuration is read once from the environment, validated by one zod schema, and turned into a
 * typed, frozen object. Defaults live here with the reason for each; durations become `...Ms` numbers.
 * A bad variable stops start-up with one line: `NAME: what is wrong (expected FORM, got "value")`.
 */

export const PROVIDER_NAMES = ['anthropic', 'gemini', 'openai', 'simulated'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

type Env = Record<string, string | undefined>;

const SECRET_VARIABLES = new Set([
  'ANTHROPIC_API_KEY',
  'GOOGLE_API_KEY',
  'GEMINI_API_KEY',
  'OPENAI_API_KEY',
  'REDIS_PASSWORD',
  'REDIS_SENTINEL_PASSWORD',
  'REDIS_URL',
  'KAFKA_SASL_PASSWORD',
  'UI_TOKEN',
]);

function shown(variable: string, value: string): string {
  if (SECRET_VARIABLES.has(variable)) return '(value hidden)';
  return `got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
}

/** Blank strings count as unset: `FOO=` in a .env file means "use the default". */
const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

function int(min: number, max: number) {
  return z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^\s*-?\d+\s*$/, { error: `expected a whole number from ${min} to ${max}` })
      .transform(Number)
      .pipe(
        z
          .number()
          .min(min, { error: `expected a whole number from ${min} to ${max}` })
          .max(max, { error: `expected a whole number from ${min} to ${max}` }),
      )
      .optional(),
  );
}

function num(min: number, max: number) {
  return z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^\s*-?\d+(\.\d+)?\s*$/, { error: `expected a number from ${min} to ${max}` })
      .transform(Number)
      .pipe(
        z
          .number()
          .min(min, { error: `expected a number from ${min} to ${max}` })
          .max(max, { error: `expected a number from ${min} to ${max}` }),
      )
      .optional(),
  );
}

const bool = () =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .transform((v) => v.trim().toLowerCase())
      .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' }))
      .transform((v) => v === 'true' || v === '1' || v === 'yes')
      .optional(),
  );

const str = () => z.preprocess(blankToUndefined, z.string().optional());

function httpUrl() {
  return z.preprocess(
    blankToUndefined,
    z
      .string()
      .refine((v) => /^https?:\/\/[^\s]+$/.test(v) && URL.canParse(v), {
        error: 'expected an http:// or https:// URL',
      })
      .optional(),
  );
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess(
    blankToUndefined,
    z.enum(values, { error: `expected one of ${values.join(', ')}` }).optional(),
  );
}

const hostPortList = z.preprocess(
  blankToUndefined,
  z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((list) => list.length > 0 && list.every((hp) => /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(hp)), {
      error: 'expected a comma-separated list of host:port',
    })
    .optional(),
);

const providerList = z.preprocess(
  blankToUndefined,
  z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    )
    .refine(
      (list) => list.length === 2 && list.every((p) => (PROVIDER_NAMES as readonly string[]).includes(p)),
      { error: `expected two providers separated by a comma, each one of ${PROVIDER_NAMES.join(', ')}` },
    )
    .optional(),
);

const redisUrl = z.preprocess(
  blankToUndefined,
  z
    .string()
    .refine((v) => /^rediss?:\/\//.test(v) && URL.canParse(v), {
      error: 'expected redis://[user:password@]host:port[/db] or rediss:// for TLS',
    })
    .optional(),
);

/** Every variable Chimera reads, by its name in the environment. */
export const envSchema = z.object({
  // Provider credentials. Absent keys are allowed: that provider is simply not configured.
  ANTHROPIC_API_KEY: str(),
  GOOGLE_API_KEY: str(),
  /** The name @google/genai reads itself; accepted as an alias of GOOGLE_API_KEY. */
  GEMINI_API_KEY: str(),
  OPENAI_API_KEY: str(),

  ANTHROPIC_BASE_URL: httpUrl(),
  GOOGLE_GEMINI_BASE_URL: httpUrl(),
  OPENAI_BASE_URL: httpUrl(),

  ANTHROPIC_MODEL: str(),
  GEMINI_MODEL: str(),
  OPENAI_MODEL: str(),

  ANTHROPIC_RPM: int(1, 1_000_000),
  ANTHROPIC_TPM: int(1, 1_000_000_000),
  GEMINI_RPM: int(1, 1_000_000),
  GEMINI_TPM: int(1, 1_000_000_000),
  OPENAI_RPM: int(1, 1_000_000),
  OPENAI_TPM: int(1, 1_000_000_000),
  SIMULATED_RPM: int(1, 100_000_000),
  SIMULATED_TPM: int(1, 1_000_000_000_000),
  /** Fixed latency of the in-process simulated provider, for demos and benchmarks. */
  SIMULATED_LATENCY_MS: int(0, 600_000),
  /** Time a batch of the simulated provider takes to end, so batch mode can be tried offline (24 h at most). */
  SIMULATED_BATCH_DELAY_MS: int(0, 86_400_000),

  // Redis: REDIS_URL wins over REDIS_HOST/REDIS_PORT/REDIS_PASSWORD; none of them means in-process state.
  REDIS_URL: redisUrl,
  REDIS_HOST: str(),
  REDIS_PORT: int(1, 65535),
  REDIS_PASSWORD: str(),
  REDIS_KEY_PREFIX: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9:_.-]{1,64}$/, { error: 'expected 1-64 characters of letters, digits, : _ . -' })
      .optional(),
  ),
  REDIS_TOPIC_QUEUE: str(),
  // Redis Sentinel: the sentinels are asked where the master is; REDIS_PASSWORD is the data nodes' password.
  REDIS_SENTINELS: z.preprocess(
    blankToUndefined,
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .refine((list) => list.length > 0 && list.every((hp) => parseHostPort(hp) !== undefined), {
        error: 'expected a comma-separated list of host:port (IPv6 hosts in brackets)',
      })
      .transform((list) => list.map((hp) => parseHostPort(hp)!))
      .optional(),
  ),
  REDIS_SENTINEL_NAME: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'expected the master name: 1-64 letters, digits, . _ -' })
      .optional(),
  ),
  REDIS_SENTINEL_PASSWORD: str(),

  // Kafka: no KAFKA_BOOTSTRAP_SERVERS means events in Redis streams (with Redis) or in-process, and JSONL output.
  KAFKA_BOOTSTRAP_SERVERS: hostPortList,
  KAFKA_CONSUMER_GROUP_ID: str(),
  KAFKA_CLIENT_ID: str(),
  KAFKA_SSL: bool(),
  KAFKA_SASL_MECHANISM: oneOf(['plain', 'scram-sha-256', 'scram-sha-512'] as const),
  KAFKA_SASL_USERNAME: str(),
  KAFKA_SASL_PASSWORD: str(),
  KAFKA_TOPIC_INPUT: str(),
  KAFKA_TOPIC_EVENTS: str(),
  KAFKA_TOPIC_DEAD_LETTER: str(),

  // Conversations.
  MAX_CONVERSATION_TURNS: int(1, 1000),
  MIN_CONVERSATION_TURNS: int(1, 1000),
  CONVERSATION_TIMEOUT_SECONDS: int(1, 86_400),
  MAX_CONCURRENT_CONVERSATIONS: int(1, 1_000_000),
  CONVERSATION_PROVIDERS: providerList,
  MAX_TOKENS_PER_TURN: int(16, 200_000),
  TEMPERATURE: num(0, 2),
  QUESTIONER_SYSTEM_PROMPT: str(),
  ANSWERER_SYSTEM_PROMPT: str(),
  TOPIC_MAX_LENGTH: int(16, 10_000),
  MAX_TOPIC_MESSAGE_BYTES: int(1024, 16 * 1024 * 1024),

  // Dataset diversity and provenance: personas, styles, sampled temperatures, seed and run id.
  PERSONAS_FILE: str(),
  TEMPERATURE_MIN: num(0, 2),
  TEMPERATURE_MAX: num(0, 2),
  SEED: int(0, 2_147_483_647),
  RUN_ID: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,64}$/, { error: 'expected 1-64 characters of letters, digits, . _ : -' })
      .optional(),
  ),

  // The optional judge: a configured provider that scores each finished conversation against the rubric.
  JUDGE_PROVIDER: oneOf(PROVIDER_NAMES),
  JUDGE_MODEL: str(),
  JUDGE_MAX_ATTEMPTS: int(1, 10),
  JUDGE_MAX_TOKENS: int(64, 32_000),
  JUDGE_MAX_TRANSCRIPT_CHARS: int(1_000, 1_000_000),

  // Provider resilience.
  RATE_LIMIT_REQUESTS_PER_MINUTE: int(1, 1_000_000),
  RATE_LIMIT_TOKENS_PER_MINUTE: int(1, 1_000_000_000),
  RATE_LIMIT_MAX_WAIT_SECONDS: int(0, 3600),
  CIRCUIT_BREAKER_FAILURE_THRESHOLD: int(1, 1000),
  CIRCUIT_BREAKER_COOLDOWN_SECONDS: int(1, 3600),
  PROVIDER_TIMEOUT_SECONDS: int(1, 3600),
  RETRY_MAX_ATTEMPTS: int(1, 50),
  RETRY_BASE_DELAY_MS: int(1, 600_000),
  RETRY_MAX_DELAY_SECONDS: int(1, 3600),
  RETRY_MAX_TOTAL_DELAY_SECONDS: int(1, 86_400),

  // Batch mode (docs/batch.md): every provider's mode, or one provider's, and the batcher's settings.
  PROVIDER_MODE: oneOf(['online', 'batch'] as const),
  ANTHROPIC_MODE: oneOf(['online', 'batch'] as const),
  GEMINI_MODE: oneOf(['online', 'batch'] as const),
  OPENAI_MODE: oneOf(['online', 'batch'] as const),
  BATCH_MAX_REQUESTS: int(1, 100_000),
  BATCH_COLLECT_SECONDS: int(0, 86_400),
  BATCH_MAX_WAIT_HOURS: int(1, 168),
  BATCH_POLL_SECONDS: int(1, 3600),
  BATCH_FALLBACK: oneOf(['batch', 'online'] as const),
  BATCH_LEASE_SECONDS: int(3, 3600),

  // Ownership and retention.
  LEASE_TTL_SECONDS: int(2, 3600),
  MAX_CONVERSATION_CRASHES: int(1, 100),
  INTAKE_MAX_ATTEMPTS: int(1, 100),
  PARKED_MAX_LENGTH: int(100, 10_000_000),
  REDIS_STREAM_MAX_LENGTH: int(100, 100_000_000),
  REDIS_WAIT_REPLICAS: int(0, 16),
  REDIS_WAIT_TIMEOUT_MS: int(10, 60_000),
  FINISHED_TTL_SECONDS: int(60, 365 * 86_400),

  // Service.
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
  LOG_FORMAT: oneOf(['json', 'pretty'] as const),
  HTTP_PORT: int(0, 65535),
  HTTP_HOST: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9.\-_:[\]]{1,253}$/, { error: 'expected a host name or an IP address' })
      .optional(),
  ),
  INSTANCE_ID: str(),
  /** Compatibility with the service this replaces: allows start-up without provider keys (simulated provider). */
  TESTING: bool(),

  // Cost (src/cost/config.ts parses them): the spending cap in US dollars, and prices on top of the table.
  MAX_SPEND_USD: str(),
  PRICES_FILE: str(),
  // Web pages (dashboard, dataset viewer, inspector): see src/http/request-guard.ts.
  UI_HOST: str(),
  UI_PORT: int(0, 65535),
  UI_TOKEN: z.preprocess(
    blankToUndefined,
    z.string().min(16, { error: 'expected at least 16 characters (e.g. openssl rand -hex 24)' }).optional(),
  ),
  UI_ALLOWED_HOSTS: z.preprocess(
    blankToUndefined,
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean),
      )
      .refine((list) => list.every((h) => /^[a-z0-9.\-_:[\]]{1,253}$/.test(h)), {
        error: 'expected a comma-separated list of host names or addresses, without ports',
      })
      .optional(),
  ),
});

type RawEnv = z.infer<typeof envSchema>;

export interface ProviderConfig {
  name: ProviderName;
  apiKey?: string;
  baseUrl?: string;
  model: string;
  /** Requests per minute this provider allows, shared by every daemon on the same Redis. */
  rpm: number;
  /** Input plus output tokens per minute. */
  tpm: number;
  timeoutMs: number;
}

export interface RedisConfig {
  /** `redis://`, `rediss://`, or `redis-sentinel://` for a master found through Sentinel (`src/redis-url.ts`). */
  url: string;
  keyPrefix: string;
  topicQueue: string;
}

export interface KafkaConfig {
  brokers: string[];
  clientId: string;
  groupId: string;
  ssl: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  topics: { input: string; events: string; deadLetter: string };
}

/** Batch mode: which providers answer through their batch API, and how the batchers gather and wait. */
export interface BatchConfig {
  /** Per provider. @default 'online' (PROVIDER_MODE, then <PROVIDER>_MODE) */
  modes: Record<ProviderName, 'online' | 'batch'>;
  /** @default BATCHER_DEFAULTS.BATCH_MAX_REQUESTS */
  maxRequests: number;
  /** @default BATCHER_DEFAULTS.BATCH_COLLECT_SECONDS, in ms */
  collectMs: number;
  /** First wait between polls of a batch out (it doubles while nothing ends). @default BATCHER_DEFAULTS.BATCH_POLL_MIN_SECONDS, in ms */
  pollMinMs: number;
  /** A turn's window in batch mode (its deadline counts from when it asked). @default 24 h, in ms */
  maxWaitMs: number;
  /** Where a retryable per-request error goes. @default 'batch' */
  fallback: 'batch' | 'online';
  /**
   * How long a daemon's hold on its batches out lasts without a renewal (renewed every third of it); a
   * dead daemon's batches are adopted by another once it lapses. @default DEFAULT_BATCH_LEASE_SECONDS, in ms
   */
  leaseMs: number;
}

export const DEFAULT_BATCH_LEASE_SECONDS = 30; // renewed every 10 s; a dead daemon's batches are adopted within half a minute
export const DEFAULT_BATCH_MAX_WAIT_HOURS = 24; // the providers' own batch window: a batch not done in a day expires

export interface Config {
  testing: boolean;
  instanceId: string;
  log: { level: string; format: 'json' | 'pretty' };
  httpPort: number;
  /** Interface of `/healthz`, `/readyz` and `/metrics`. @default '127.0.0.1' */
  httpHost: string;
  redis?: RedisConfig;
  kafka?: KafkaConfig;
  providers: Record<ProviderName, ProviderConfig>;
  /** Providers that have credentials (plus `simulated`, always available). */
  configuredProviders: ProviderName[];
  conversation: {
    maxTurns: number;
    minTurns: number;
    timeoutMs: number;
    maxConcurrent: number;
    /** The two sides, questioner first; undefined means "pick from what is configured". */
    providers?: [ProviderName, ProviderName];
    maxTokensPerTurn: number;
    temperature: number;
    questionerSystemPrompt?: string;
    answererSystemPrompt?: string;
    topicMaxLength: number;
    /** Largest topic message (Redis queue entry, Kafka input message) decoded at all; larger is dead-lettered. */
    topicMaxMessageBytes: number;
  };
  resilience: {
    rateLimitMaxWaitMs: number;
    breakerFailureThreshold: number;
    breakerCooldownMs: number;
    retryMaxAttempts: number;
    retryBaseDelayMs: number;
    retryMaxDelayMs: number;
    retryMaxTotalDelayMs: number;
  };
  /** Fixed reply latency of the in-process simulated provider. */
  simulatedLatencyMs: number;
  /** Time a batch of the simulated provider takes to end. */
  simulatedBatchDelayMs: number;
  /** Dataset diversity and provenance (see {@link DatasetConfig}). */
  dataset: DatasetConfig;
  leaseTtlMs: number;
  /** Crashes of a conversation's actor (each owner's counted in the store) before it is failed as `crashed`. */
  maxConversationCrashes: number;
  /** Failed admissions of one topic message before it is parked (`INTAKE_MAX_ATTEMPTS`). */
  intakeMaxAttempts: number;
  /** Parked messages kept in Redis, about (`PARKED_MAX_LENGTH`; the stream is trimmed with `MAXLEN ~`). */
  parkedMaxLength: number;
  /**
   * Entries kept, about, in each event stream when Redis carries the events (Redis without Kafka;
   * `REDIS_STREAM_MAX_LENGTH`; trimmed with `XADD MAXLEN ~`, the oldest go first).
   */
  redisStreamMaxLength: number;
  /**
   * Replicas that must hold a new conversation's saved step before its topic is acknowledged to its source
   * (`REDIS_WAIT_REPLICAS`; 0: acknowledged after the first save), and the longest one `WAIT` for them
   * blocks (`REDIS_WAIT_TIMEOUT_MS`).
   */
  redisWait: { replicas: number; timeoutMs: number };
  finishedTtlMs: number;
  /** Spending cap and prices (`MAX_SPEND_USD`, `PRICES_FILE`). */
  cost: CostConfig;
  /** The optional judge (`JUDGE_PROVIDER`); undefined means conversations are not judged. */
  judge?: JudgeConfig;
  /** The web pages: dashboard (`run --ui`), dataset viewer (`view`), inspector (`run --inspect`). */
  ui: UiConfig;
  batch: BatchConfig;
}

export interface JudgeConfig {
  /** A configured provider; its calls share that provider's rate limiter, breaker and retries. */
  provider: ProviderName;
  /** The model to ask. @default the provider's configured model (`ANTHROPIC_MODEL`, ...) */
  model: string;
  /** Calls that may answer malformed JSON before a conversation is left unjudged. @default 3 */
  maxAttempts: number;
  /** Output budget of one judgement. @default 1024 */
  maxTokens: number;
  /** Longest transcript sent; later turns are left out. @default 100000 */
  maxTranscriptChars: number;
}

export const JUDGE_DEFAULTS = {
  MAX_ATTEMPTS: 3, // a malformed answer is rare and rarely repeats twice
  MAX_TOKENS: 1_024, // five scores with short rationales fit well under this
  MAX_TRANSCRIPT_CHARS: 100_000, // about 25k tokens: within every judge model's context
} as const;

function judgeFrom(
  raw: RawEnv,
  providers: Record<ProviderName, ProviderConfig>,
  configured: readonly ProviderName[],
): JudgeConfig | undefined {
  const name = raw.JUDGE_PROVIDER as ProviderName | undefined;
  if (!name) {
    for (const variable of ['JUDGE_MODEL', 'JUDGE_MAX_ATTEMPTS', 'JUDGE_MAX_TOKENS'] as const) {
      if (raw[variable] !== undefined) throw new ConfigError(variable, 'needs JUDGE_PROVIDER to be set');
    }
    return undefined;
  }
  if (!configured.includes(name)) {
    throw new ConfigError(
      'JUDGE_PROVIDER',
      `provider ${name} has no credentials (set its API key, or choose from ${configured.join(', ')})`,
    );
  }
  return {
    provider: name,
    model: raw.JUDGE_MODEL ?? providers[name].model,
    maxAttempts: raw.JUDGE_MAX_ATTEMPTS ?? JUDGE_DEFAULTS.MAX_ATTEMPTS,
    maxTokens: raw.JUDGE_MAX_TOKENS ?? JUDGE_DEFAULTS.MAX_TOKENS,
    maxTranscriptChars: raw.JUDGE_MAX_TRANSCRIPT_CHARS ?? JUDGE_DEFAULTS.MAX_TRANSCRIPT_CHARS,
  };
}

export interface UiConfig {
  /** Interface the dashboard and viewer listen on. @default '127.0.0.1' */
  host: string;
  /** Dashboard port; set, it turns the dashboard on for `run`. @default none (the dashboard is off) */
  port?: number;
  /** Required on every request when set; required to listen beyond loopback. */
  token?: string;
  /** Host names accepted in Host and Origin headers besides loopback. @default [] */
  allowedHosts: string[];
}

// ---------------------------------------------------------------------------------------------------
// Dataset diversity and provenance

/** How each conversation's personas, style and temperature are drawn, and what every record is stamped with. */
export interface DatasetConfig {
  /** Personas and styles to draw from: the built-in pool with `PERSONAS_FILE` applied. */
  pool: PersonaPool;
  /** The personas file applied to the pool, if any (its content is in `pool`). */
  personasFile?: string;
  /**
   * Range each conversation's temperature is drawn from, uniformly; `min === max` is a fixed temperature
   * (`TEMPERATURE`). @default DATASET_DEFAULTS.TEMPERATURE_RANGE when no temperature variable is set
   */
  temperature: { min: number; max: number };
  /** Seed of every draw: the same seed and topic id give the same personas, style and temperature. @default 1 */
  seed: number;
  /** Names this process's run in every record. @default a random UUID per process */
  runId: string;
}

export const DATASET_DEFAULTS = {
  // A spread that stays coherent on every provider while varying phrasing; TEMPERATURE fixes one value.
  TEMPERATURE_RANGE: { min: 0.7, max: 1.0 },
  SEED: 1, // fixed, so a re-run of the same topics draws the same combinations unless asked otherwise
} as const;

function datasetFrom(raw: RawEnv): DatasetConfig {
  const fixed = raw.TEMPERATURE;
  const ranged = raw.TEMPERATURE_MIN !== undefined || raw.TEMPERATURE_MAX !== undefined;
  if (fixed !== undefined && ranged) {
    const variable = raw.TEMPERATURE_MIN !== undefined ? 'TEMPERATURE_MIN' : 'TEMPERATURE_MAX';
    throw new ConfigError(
      variable,
      'set either TEMPERATURE (one fixed value) or TEMPERATURE_MIN/TEMPERATURE_MAX (a range), not both',
    );
  }
  const min = fixed ?? raw.TEMPERATURE_MIN ?? DATASET_DEFAULTS.TEMPERATURE_RANGE.min;
  const max = fixed ?? raw.TEMPERATURE_MAX ?? DATASET_DEFAULTS.TEMPERATURE_RANGE.max;
  if (min > max) {
    throw new ConfigError('TEMPERATURE_MIN', `must not exceed TEMPERATURE_MAX (${max}) (got ${min})`);
  }
  const pool = raw.PERSONAS_FILE ? loadPersonasFile(raw.PERSONAS_FILE, BUILTIN_POOL) : BUILTIN_POOL;
  return {
    pool,
    ...(raw.PERSONAS_FILE ? { personasFile: raw.PERSONAS_FILE } : {}),
    temperature: { min, max },
    seed: raw.SEED ?? DATASET_DEFAULTS.SEED,
    runId: raw.RUN_ID ?? randomUUID(),
  };
}

function firstIssueToError(error: z.ZodError, env: Env): ConfigError {
  const issue = error.issues[0]!;
  const variable = String(issue.path[0] ?? 'environment');
  const raw = env[variable];
  const suffix = raw === undefined ? '' : ` (${shown(variable, raw)})`;
  return new ConfigError(variable, `${issue.message}${suffix}`);
}

/** The Sentinel variables come as a set, and exclude naming a single node. */
function sentinelFrom(raw: RawEnv): string | undefined {
  if (!raw.REDIS_SENTINELS) {
    for (const variable of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD'] as const) {
      if (raw[variable]) throw new ConfigError('REDIS_SENTINELS', `required when ${variable} is set`);
    }
    return undefined;
  }
  if (!raw.REDIS_SENTINEL_NAME) {
    throw new ConfigError(
      'REDIS_SENTINEL_NAME',
      'required when REDIS_SENTINELS is set (expected the master name the sentinels monitor)',
    );
  }
  for (const variable of ['REDIS_URL', 'REDIS_HOST', 'REDIS_PORT'] as const) {
    if (raw[variable] !== undefined) {
      throw new ConfigError(
        'REDIS_SENTINELS',
        `cannot be combined with ${variable}: the sentinels say where the master is (unset one of them)`,
      );
    }
  }
  return sentinelUrl({
    name: raw.REDIS_SENTINEL_NAME,
    sentinels: raw.REDIS_SENTINELS,
    ...(raw.REDIS_PASSWORD ? { password: raw.REDIS_PASSWORD } : {}),
    ...(raw.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: raw.REDIS_SENTINEL_PASSWORD } : {}),
  });
}

function redisFrom(raw: RawEnv): RedisConfig | undefined {
  const keyPrefix = raw.REDIS_KEY_PREFIX ?? DEFAULTS.REDIS_KEY_PREFIX;
  const topicQueue = raw.REDIS_TOPIC_QUEUE ?? DEFAULTS.REDIS_TOPIC_QUEUE;
  const sentinel = sentinelFrom(raw);
  if (sentinel) return { url: sentinel, keyPrefix, topicQueue };
  if (raw.REDIS_URL) return { url: withPassword(raw.REDIS_URL, raw.REDIS_PASSWORD), keyPrefix, topicQueue };
  if (!raw.REDIS_HOST && raw.REDIS_PORT === undefined) {
    if (raw.REDIS_PASSWORD) {
      throw new ConfigError(
        'REDIS_PASSWORD',
        'set, but no Redis is configured (set REDIS_HOST, REDIS_URL or REDIS_SENTINELS as well, or unset REDIS_PASSWORD)',
      );
    }
    return undefined;
  }
  const url = new URL('redis://localhost');
  url.hostname = raw.REDIS_HOST ?? 'localhost';
  url.port = String(raw.REDIS_PORT ?? 6379);
  if (raw.REDIS_PASSWORD) url.password = raw.REDIS_PASSWORD;
  return { url: url.toString(), keyPrefix, topicQueue };
}

/** REDIS_URL with REDIS_PASSWORD applied; a URL that carries a password of its own and REDIS_PASSWORD clash. */
function withPassword(redisUrl: string, password: string | undefined): string {
  if (!password) return redisUrl;
  const url = new URL(redisUrl);
  if (url.password !== '') {
    throw new ConfigError('REDIS_PASSWORD', 'REDIS_URL carries a password already: set only one of them');
  }
  url.password = password;
  return url.toString();
}

function kafkaFrom(raw: RawEnv): KafkaConfig | undefined {
  if (!raw.KAFKA_BOOTSTRAP_SERVERS) return undefined;
  const mechanism = raw.KAFKA_SASL_MECHANISM;
  if (mechanism && (!raw.KAFKA_SASL_USERNAME || !raw.KAFKA_SASL_PASSWORD)) {
    const missing = raw.KAFKA_SASL_USERNAME ? 'KAFKA_SASL_PASSWORD' : 'KAFKA_SASL_USERNAME';
    throw new ConfigError(missing, `required when KAFKA_SASL_MECHANISM is set (expected a non-empty string)`);
  }
  return {
    brokers: raw.KAFKA_BOOTSTRAP_SERVERS,
    clientId: raw.KAFKA_CLIENT_ID ?? DEFAULTS.KAFKA_CLIENT_ID,
    groupId: raw.KAFKA_CONSUMER_GROUP_ID ?? DEFAULTS.KAFKA_CONSUMER_GROUP_ID,
    ssl: raw.KAFKA_SSL ?? false,
    ...(mechanism
      ? { sasl: { mechanism, username: raw.KAFKA_SASL_USERNAME!, password: raw.KAFKA_SASL_PASSWORD! } }
      : {}),
    topics: {
      input: raw.KAFKA_TOPIC_INPUT ?? DEFAULTS.KAFKA_TOPIC_INPUT,
      events: raw.KAFKA_TOPIC_EVENTS ?? DEFAULTS.KAFKA_TOPIC_EVENTS,
      deadLetter: raw.KAFKA_TOPIC_DEAD_LETTER ?? DEFAULTS.KAFKA_TOPIC_DEAD_LETTER,
    },
  };
}

/**
 * Parses the environment into a frozen {@link Config}.
 * @throws {ConfigError} naming the first bad variable, what is wrong and the expected form.
 */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw firstIssueToError(parsed.error, env);
  const raw = parsed.data;

  const maxTurns = raw.MAX_CONVERSATION_TURNS ?? DEFAULTS.MAX_CONVERSATION_TURNS;
  const minTurns = raw.MIN_CONVERSATION_TURNS ?? Math.min(DEFAULTS.MIN_CONVERSATION_TURNS, maxTurns);
  if (minTurns > maxTurns) {
    throw new ConfigError(
      'MIN_CONVERSATION_TURNS',
      `must not exceed MAX_CONVERSATION_TURNS (${maxTurns}) (got ${minTurns})`,
    );
  }
  const retryBase = raw.RETRY_BASE_DELAY_MS ?? DEFAULTS.RETRY_BASE_DELAY_MS;
  const retryMax = (raw.RETRY_MAX_DELAY_SECONDS ?? DEFAULTS.RETRY_MAX_DELAY_SECONDS) * 1000;
  if (retryBase > retryMax) {
    throw new ConfigError(
      'RETRY_BASE_DELAY_MS',
      `must not exceed RETRY_MAX_DELAY_SECONDS in milliseconds (${retryMax}) (got ${retryBase})`,
    );
  }

  const timeoutMs = (raw.PROVIDER_TIMEOUT_SECONDS ?? DEFAULTS.PROVIDER_TIMEOUT_SECONDS) * 1000;
  const defaultRpm = raw.RATE_LIMIT_REQUESTS_PER_MINUTE ?? DEFAULTS.RATE_LIMIT_REQUESTS_PER_MINUTE;
  const defaultTpm = raw.RATE_LIMIT_TOKENS_PER_MINUTE ?? DEFAULTS.RATE_LIMIT_TOKENS_PER_MINUTE;
  const googleKey = raw.GOOGLE_API_KEY ?? raw.GEMINI_API_KEY;
  const providers: Record<ProviderName, ProviderConfig> = {
    anthropic: {
      name: 'anthropic',
      apiKey: raw.ANTHROPIC_API_KEY,
      baseUrl: raw.ANTHROPIC_BASE_URL,
      model: raw.ANTHROPIC_MODEL ?? DEFAULTS.ANTHROPIC_MODEL,
      rpm: raw.ANTHROPIC_RPM ?? defaultRpm,
      tpm: raw.ANTHROPIC_TPM ?? defaultTpm,
      timeoutMs,
    },
    gemini: {
      name: 'gemini',
      apiKey: googleKey,
      baseUrl: raw.GOOGLE_GEMINI_BASE_URL,
      model: raw.GEMINI_MODEL ?? DEFAULTS.GEMINI_MODEL,
      rpm: raw.GEMINI_RPM ?? defaultRpm,
      tpm: raw.GEMINI_TPM ?? defaultTpm,
      timeoutMs,
    },
    openai: {
      name: 'openai',
      apiKey: raw.OPENAI_API_KEY,
      baseUrl: raw.OPENAI_BASE_URL,
      model: raw.OPENAI_MODEL ?? DEFAULTS.OPENAI_MODEL,
      rpm: raw.OPENAI_RPM ?? defaultRpm,
      tpm: raw.OPENAI_TPM ?? defaultTpm,
      timeoutMs,
    },
    simulated: {
      name: 'simulated',
      model: 'chimera-simulated-1',
      rpm: raw.SIMULATED_RPM ?? DEFAULTS.SIMULATED_RPM,
      tpm: raw.SIMULATED_TPM ?? DEFAULTS.SIMULATED_TPM,
      timeoutMs,
    },
  };
  // An OpenAI-compatible server (vLLM, Ollama, llama.cpp) often needs no key: a base URL configures it.
  const configuredProviders = PROVIDER_NAMES.filter((name) =>
    name === 'simulated'
      ? true
      : name === 'openai'
        ? Boolean(raw.OPENAI_API_KEY || raw.OPENAI_BASE_URL)
        : Boolean(providers[name].apiKey),
  );
  const testing = raw.TESTING ?? false;
  // TESTING=true skips key validation (the service this replaces did so): a test may give the named
  // providers' clients itself (`ConversationManager`'s client factory).
  if (raw.CONVERSATION_PROVIDERS && !testing) {
    for (const name of raw.CONVERSATION_PROVIDERS) {
      if (!configuredProviders.includes(name as ProviderName)) {
        throw new ConfigError(
          'CONVERSATION_PROVIDERS',
          `provider ${name} has no credentials (set its API key, or choose from ${configuredProviders.join(', ')})`,
        );
      }
    }
  }

  // Checked even when TESTING=true drops them, so a bad variable is found before it matters.
  const redis = redisFrom(raw);
  if (!redis && (raw.REDIS_WAIT_REPLICAS ?? 0) > 0) {
    throw new ConfigError(
      'REDIS_WAIT_REPLICAS',
      'set, but no Redis is configured (replicas of what? set REDIS_URL, REDIS_HOST or REDIS_SENTINELS)',
    );
  }
  const kafka = kafkaFrom(raw);
  const judge = judgeFrom(raw, providers, configuredProviders);

  const config: Config = {
    testing,
    instanceId: raw.INSTANCE_ID ?? `${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    log: { level: raw.LOG_LEVEL ?? 'info', format: raw.LOG_FORMAT ?? 'json' },
    httpPort: raw.HTTP_PORT ?? DEFAULTS.HTTP_PORT,
    httpHost: raw.HTTP_HOST ?? DEFAULTS.HTTP_HOST,
    // TESTING=true runs on the in-process stand-ins whatever Redis or Kafka is configured (README, TESTING).
    redis: testing ? undefined : redis,
    kafka: testing ? undefined : kafka,
    providers,
    configuredProviders,
    conversation: {
      maxTurns,
      minTurns,
      timeoutMs: (raw.CONVERSATION_TIMEOUT_SECONDS ?? DEFAULTS.CONVERSATION_TIMEOUT_SECONDS) * 1000,
      maxConcurrent: raw.MAX_CONCURRENT_CONVERSATIONS ?? DEFAULTS.MAX_CONCURRENT_CONVERSATIONS,
      providers: raw.CONVERSATION_PROVIDERS as [ProviderName, ProviderName] | undefined,
      maxTokensPerTurn: raw.MAX_TOKENS_PER_TURN ?? DEFAULTS.MAX_TOKENS_PER_TURN,
      temperature: raw.TEMPERATURE ?? DEFAULTS.TEMPERATURE,
      questionerSystemPrompt: raw.QUESTIONER_SYSTEM_PROMPT,
      answererSystemPrompt: raw.ANSWERER_SYSTEM_PROMPT,
      topicMaxLength: raw.TOPIC_MAX_LENGTH ?? DEFAULTS.TOPIC_MAX_LENGTH,
      topicMaxMessageBytes: raw.MAX_TOPIC_MESSAGE_BYTES ?? DEFAULTS.MAX_TOPIC_MESSAGE_BYTES,
    },
    resilience: {
      rateLimitMaxWaitMs: (raw.RATE_LIMIT_MAX_WAIT_SECONDS ?? DEFAULTS.RATE_LIMIT_MAX_WAIT_SECONDS) * 1000,
      breakerFailureThreshold:
        raw.CIRCUIT_BREAKER_FAILURE_THRESHOLD ?? DEFAULTS.CIRCUIT_BREAKER_FAILURE_THRESHOLD,
      breakerCooldownMs:
        (raw.CIRCUIT_BREAKER_COOLDOWN_SECONDS ?? DEFAULTS.CIRCUIT_BREAKER_COOLDOWN_SECONDS) * 1000,
      retryMaxAttempts: raw.RETRY_MAX_ATTEMPTS ?? DEFAULTS.RETRY_MAX_ATTEMPTS,
      retryBaseDelayMs: retryBase,
      retryMaxDelayMs: retryMax,
      retryMaxTotalDelayMs:
        (raw.RETRY_MAX_TOTAL_DELAY_SECONDS ?? DEFAULTS.RETRY_MAX_TOTAL_DELAY_SECONDS) * 1000,
    },
    simulatedLatencyMs: raw.SIMULATED_LATENCY_MS ?? 0,
    simulatedBatchDelayMs: raw.SIMULATED_BATCH_DELAY_MS ?? 0,
    dataset: datasetFrom(raw),
    leaseTtlMs: (raw.LEASE_TTL_SECONDS ?? DEFAULTS.LEASE_TTL_SECONDS) * 1000,
    maxConversationCrashes: raw.MAX_CONVERSATION_CRASHES ?? DEFAULTS.MAX_CONVERSATION_CRASHES,
    intakeMaxAttempts: raw.INTAKE_MAX_ATTEMPTS ?? DEFAULTS.INTAKE_MAX_ATTEMPTS,
    parkedMaxLength: raw.PARKED_MAX_LENGTH ?? DEFAULTS.PARKED_MAX_LENGTH,
    redisStreamMaxLength: raw.REDIS_STREAM_MAX_LENGTH ?? DEFAULTS.REDIS_STREAM_MAX_LENGTH,
    redisWait: {
      replicas: raw.REDIS_WAIT_REPLICAS ?? DEFAULTS.REDIS_WAIT_REPLICAS,
      timeoutMs: raw.REDIS_WAIT_TIMEOUT_MS ?? DEFAULTS.REDIS_WAIT_TIMEOUT_MS,
    },
    finishedTtlMs: (raw.FINISHED_TTL_SECONDS ?? DEFAULTS.FINISHED_TTL_SECONDS) * 1000,
    cost: costConfigFrom({ MAX_SPEND_USD: raw.MAX_SPEND_USD, PRICES_FILE: raw.PRICES_FILE }),
    ...(judge ? { judge } : {}),
    batch: {
      modes: {
        anthropic: raw.ANTHROPIC_MODE ?? raw.PROVIDER_MODE ?? 'online',
        gemini: raw.GEMINI_MODE ?? raw.PROVIDER_MODE ?? 'online',
        openai: raw.OPENAI_MODE ?? raw.PROVIDER_MODE ?? 'online',
        simulated: raw.PROVIDER_MODE ?? 'online',
      },
      maxRequests: raw.BATCH_MAX_REQUESTS ?? BATCHER_DEFAULTS.BATCH_MAX_REQUESTS,
      collectMs: (raw.BATCH_COLLECT_SECONDS ?? BATCHER_DEFAULTS.BATCH_COLLECT_SECONDS) * 1000,
      pollMinMs: (raw.BATCH_POLL_SECONDS ?? BATCHER_DEFAULTS.BATCH_POLL_MIN_SECONDS) * 1000,
      maxWaitMs: (raw.BATCH_MAX_WAIT_HOURS ?? DEFAULT_BATCH_MAX_WAIT_HOURS) * 3_600_000,
      fallback: raw.BATCH_FALLBACK ?? 'batch',
      leaseMs: (raw.BATCH_LEASE_SECONDS ?? DEFAULT_BATCH_LEASE_SECONDS) * 1000,
    },
    ui: {
      host: raw.UI_HOST ?? DEFAULTS.UI_HOST,
      ...(raw.UI_PORT !== undefined ? { port: raw.UI_PORT } : {}),
      ...(raw.UI_TOKEN ? { token: raw.UI_TOKEN } : {}),
      allowedHosts: raw.UI_ALLOWED_HOSTS ?? [],
    },
  };
  return deepFreeze(config);
}

/** Host names and addresses that stay on this machine. */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\./.test(host);
}

const BASE_URL_VARIABLE: Record<Exclude<ProviderName, 'simulated'>, string> = {
  anthropic: 'ANTHROPIC_BASE_URL',
  gemini: 'GOOGLE_GEMINI_BASE_URL',
  openai: 'OPENAI_BASE_URL',
};

/**
 * Settings that work but expose a secret on the network, one line each, for the log at start-up: a Kafka
 * SASL/PLAIN password without TLS, and a provider key sent over plain `http://` to another machine. They
 * name variables and hosts, never the secret.
 */
export function startupWarnings(config: Readonly<Config>): string[] {
  const warnings: string[] = [];
  if (config.kafka?.sasl?.mechanism === 'plain' && !config.kafka.ssl) {
    warnings.push(
      'KAFKA_SASL_MECHANISM=plain without KAFKA_SSL=true: the Kafka password crosses the network in clear text',
    );
  }
  for (const [name, variable] of Object.entries(BASE_URL_VARIABLE)) {
    const provider = config.providers[name as ProviderName];
    if (!provider.apiKey || !provider.baseUrl) continue;
    const url = new URL(provider.baseUrl);
    if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
      warnings.push(
        `${variable} is plain http:// to ${url.hostname}: the ${name} API key crosses the network in clear text (use https://)`,
      );
    }
  }
  return warnings;
}

/**
 * Every secret value `config` holds, for `registerSecrets`: provider keys, the Kafka SASL password, the
 * Redis passwords (as set: the URL keeps them percent-encoded; the sentinels' too) and the pages' token.
 */
export function configSecrets(config: Readonly<Config>): string[] {
  const secrets: Array<string | undefined> = [
    ...Object.values(config.providers).map((p) => p.apiKey),
    config.kafka?.sasl?.password,
    config.ui.token,
  ];
  if (config.redis) secrets.push(...redisSecrets(config.redis.url));
  return secrets.filter((value): value is string => Boolean(value));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * The two sides of every new conversation, questioner first: `CONVERSATION_PROVIDERS` when set, else
 * Anthropic against Gemini when both have credentials, else the first two providers with credentials (one
 * provider talks to itself), else the simulated provider on both sides.
 */
export function chooseSides(config: Readonly<Config>): [ProviderName, ProviderName] {
  if (config.conversation.providers) return config.conversation.providers;
  const real = config.configuredProviders.filter((p) => p !== 'simulated');
  if (real.includes('anthropic') && real.includes('gemini')) return ['anthropic', 'gemini'];
  if (real.length >= 2) return [real[0]!, real[1]!];
  if (real.length === 1) return [real[0]!, real[0]!];
  return ['simulated', 'simulated'];
}
