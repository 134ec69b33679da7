/**
 * What every command starts from: the configuration (environment, then flags on top) and a logger that
 * writes to stderr, so stdout stays free for what the command produces (JSONL, JSON status).
 */
import { pino } from 'pino';
import { type Config, configSecrets, loadConfig, type ProviderName } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { registerSecrets } from '../redact.js';
import { usageError } from './errors.js';

type Env = Record<string, string | undefined>;

/**
 * One-shot commands log only warnings unless `LOG_LEVEL` says otherwise: their progress and summary lines
 * are the interface, and info lines would bury them.
 */
export const DEFAULT_CLI_LOG_LEVEL = 'warn';

/**
 * Parses the environment, with `overrides` (flags, already validated) taking precedence.
 * @throws {ConfigError} naming the first bad variable.
 */
export function loadCliConfig(env: Env = process.env, overrides: Env = {}): Readonly<Config> {
  const config = loadConfig({ ...env, ...overrides });
  // Before anything can print: an error message quoting a key or a password is scrubbed.
  registerSecrets(configSecrets(config));
  return config;
}

/** A logger on stderr at `LOG_LEVEL`, or {@link DEFAULT_CLI_LOG_LEVEL} when it is not set. */
export function cliLogger(config: Readonly<Config>, env: Env = process.env): Logger {
  const level = env.LOG_LEVEL?.trim() ? config.log.level : DEFAULT_CLI_LOG_LEVEL;
  if (config.log.format === 'pretty') return createLogger({ level, format: 'pretty' });
  return createLogger({ level, destination: pino.destination({ dest: 2, sync: true }) });
}

/**
 * Checks a `--provider` flag against the configuration: `simulated` is always available, the others need
 * their key (or, for `openai`, a base URL).
 * @throws {ConfigError} naming `--provider` when the provider is unknown or has no credentials.
 */
export function providerFlag(config: Readonly<Config>, name: string): ProviderName {
  const known = Object.keys(config.providers) as ProviderName[];
  const provider = known.find((p) => p === name.trim().toLowerCase());
  if (!provider) throw usageError('--provider', `expected one of ${known.join(', ')} (got "${name}")`);
  if (!config.configuredProviders.includes(provider)) {
    throw usageError(
      '--provider',
      `${provider} has no credentials (set its API key, or choose from ${config.configuredProviders.join(', ')})`,
    );
  }
  return provider;
}
