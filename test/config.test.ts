import { describe, expect, it } from 'vitest';
import { configSecrets, loadConfig } from '../src/config.js';
import { type ConfigError, isConfigError } from '../src/errors.js';

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (isConfigError(error)) return error;
    throw error;
  }
  throw new Error('expected loadConfig to reject');
}

describe('config', () => {
  it('an empty environment gives the documented defaults and the embedded mode', () => {
    const config = loadConfig({});
    expect(config.conversation.maxTurns).toBe(10);
    expect(config.conversation.minTurns).toBe(5);
    expect(config.conversation.timeoutMs).toBe(300_000);
    expect(config.conversation.maxConcurrent).toBe(100);
    expect(config.resilience.breakerFailureThreshold).toBe(5);
    expect(config.providers.anthropic.rpm).toBe(60);
    expect(config.redis).toBeUndefined();
    expect(config.kafka).toBeUndefined();
    expect(config.configuredProviders).toEqual(['simulated']);
  });

  it('MAX_TOPIC_MESSAGE_BYTES defaults to 64 KiB and is bounded', () => {
    expect(loadConfig({}).conversation.topicMaxMessageBytes).toBe(65_536);
    expect(loadConfig({ MAX_TOPIC_MESSAGE_BYTES: '2048' }).conversation.topicMaxMessageBytes).toBe(2048);
    expect(failure({ MAX_TOPIC_MESSAGE_BYTES: '10' }).message).toMatch(/^MAX_TOPIC_MESSAGE_BYTES: /);
  });

  it('the result is frozen all the way down', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.conversation)).toBe(true);
    expect(Object.isFrozen(config.providers.anthropic)).toBe(true);
  });

  it('a non-numeric port names the variable and the expected form', () => {
    const error = failure({ REDIS_PORT: 'abc' });
    expect(error.variable).toBe('REDIS_PORT');
    expect(error.message).toBe('REDIS_PORT: expected a whole number from 1 to 65535 (got "abc")');
  });

  it('an out-of-range number is rejected with its bounds', () => {
    expect(failure({ MAX_CONCURRENT_CONVERSATIONS: '0' }).message).toMatch(
      /^MAX_CONCURRENT_CONVERSATIONS: expected a whole number from 1 to/,
    );
    expect(failure({ TEMPERATURE: '3' }).message).toMatch(/^TEMPERATURE: expected a number from 0 to 2/);
  });

  it('MIN_CONVERSATION_TURNS above MAX_CONVERSATION_TURNS is refused', () => {
    const error = failure({ MIN_CONVERSATION_TURNS: '8', MAX_CONVERSATION_TURNS: '4' });
    expect(error.variable).toBe('MIN_CONVERSATION_TURNS');
    expect(error.message).toContain('must not exceed MAX_CONVERSATION_TURNS (4)');
  });

  it('a small MAX_CONVERSATION_TURNS lowers the default minimum instead of failing', () => {
    expect(loadConfig({ MAX_CONVERSATION_TURNS: '3' }).conversation.minTurns).toBe(3);
  });

  it('durations become milliseconds', () => {
    const config = loadConfig({
      CONVERSATION_TIMEOUT_SECONDS: '7',
      LEASE_TTL_SECONDS: '4',
      PROVIDER_TIMEOUT_SECONDS: '2',
    });
    expect(config.conversation.timeoutMs).toBe(7000);
    expect(config.leaseTtlMs).toBe(4000);
    expect(config.providers.gemini.timeoutMs).toBe(2000);
  });

  it('booleans accept true/false/1/0/yes/no and nothing else', () => {
    expect(loadConfig({ TESTING: 'yes' }).testing).toBe(true);
    expect(loadConfig({ TESTING: '0' }).testing).toBe(false);
    expect(failure({ TESTING: 'maybe' }).message).toBe('TESTING: expected true or false (got "maybe")');
  });

  describe('TESTING=true', () => {
    it('uses in-process stand-ins for Redis and Kafka even when they are configured', () => {
      const config = loadConfig({
        TESTING: 'true',
        REDIS_URL: 'redis://cache:6379',
        KAFKA_BOOTSTRAP_SERVERS: 'broker:9092',
      });
      expect(config.redis).toBeUndefined();
      expect(config.kafka).toBeUndefined();
    });

    it('skips key validation: CONVERSATION_PROVIDERS may name providers without keys', () => {
      expect(() => loadConfig({ CONVERSATION_PROVIDERS: 'anthropic,gemini' })).toThrow(
        /CONVERSATION_PROVIDERS/,
      );
      const config = loadConfig({ TESTING: 'true', CONVERSATION_PROVIDERS: 'anthropic,gemini' });
      expect(config.conversation.providers).toEqual(['anthropic', 'gemini']);
    });
  });

  it('blank values count as unset', () => {
    expect(loadConfig({ MAX_CONVERSATION_TURNS: '  ' }).conversation.maxTurns).toBe(10);
  });

  describe('redis', () => {
    it('REDIS_HOST and REDIS_PORT build a URL with the password', () => {
      const config = loadConfig({
        REDIS_HOST: 'cache.internal',
        REDIS_PORT: '6380',
        REDIS_PASSWORD: 'p@ss word',
      });
      expect(config.redis?.url).toBe('redis://:p%40ss%20word@cache.internal:6380');
    });

    it('REDIS_URL wins over host and port, and rediss:// is accepted', () => {
      const config = loadConfig({ REDIS_URL: 'rediss://user:pw@redis.example:6390/2', REDIS_HOST: 'other' });
      expect(config.redis?.url).toBe('rediss://user:pw@redis.example:6390/2');
    });

    it('configSecrets gives the Redis password as set, not only the percent-encoded form in the URL', () => {
      const config = loadConfig({
        REDIS_HOST: 'cache',
        REDIS_PASSWORD: 'p@ss/w0rd#1',
        ANTHROPIC_API_KEY: 'sk-ant-xyz',
      });
      expect(config.redis!.url).not.toContain('p@ss/w0rd#1');
      expect(configSecrets(config)).toEqual(expect.arrayContaining(['p@ss/w0rd#1', 'sk-ant-xyz']));
    });

    it('REDIS_PASSWORD without a Redis host or URL is an error naming it, not silently ignored', () => {
      const error = failure({ REDIS_PASSWORD: 'hunter22-secret' });
      expect(error.message).toMatch(/^REDIS_PASSWORD: .*REDIS_HOST.*REDIS_URL/);
      expect(error.message).not.toContain('hunter22');
    });

    it('REDIS_WAIT_REPLICAS: off by default, set with Redis, an error naming it without Redis or out of range', () => {
      expect(loadConfig({ REDIS_HOST: 'cache' }).redisWait).toEqual({ replicas: 0, timeoutMs: 1_000 });
      expect(
        loadConfig({ REDIS_HOST: 'cache', REDIS_WAIT_REPLICAS: '2', REDIS_WAIT_TIMEOUT_MS: '250' }).redisWait,
      ).toEqual({ replicas: 2, timeoutMs: 250 });
      expect(failure({ REDIS_WAIT_REPLICAS: '1' }).message).toMatch(
        /^REDIS_WAIT_REPLICAS: set, but no Redis/,
      );
      expect(failure({ REDIS_HOST: 'cache', REDIS_WAIT_REPLICAS: '17' }).message).toMatch(
        /^REDIS_WAIT_REPLICAS: /,
      );
      expect(failure({ REDIS_HOST: 'cache', REDIS_WAIT_TIMEOUT_MS: '0' }).message).toMatch(
        /^REDIS_WAIT_TIMEOUT_MS: /,
      );
    });

    it('REDIS_PASSWORD applies to a REDIS_URL without a password, and clashes with one that has one', () => {
      expect(loadConfig({ REDIS_URL: 'redis://cache:6379/1', REDIS_PASSWORD: 'p@ss' }).redis?.url).toBe(
        'redis://:p%40ss@cache:6379/1',
      );
      const error = failure({ REDIS_URL: 'redis://:other@cache:6379', REDIS_PASSWORD: 'p@ss' });
      expect(error.message).toMatch(/^REDIS_PASSWORD: /);
      expect(error.message).not.toContain('other');
    });

    it('a REDIS_URL with another scheme is refused without echoing it', () => {
      const error = failure({ REDIS_URL: 'http://user:hunter22@host' });
      expect(error.message).toBe(
        'REDIS_URL: expected redis://[user:password@]host:port[/db] or rediss:// for TLS ((value hidden))',
      );
      expect(error.message).not.toContain('hunter22');
    });
  });

  describe('kafka', () => {
    it('bootstrap servers are a list of host:port', () => {
      const config = loadConfig({ KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9092, broker-2:9093' });
      expect(config.kafka?.brokers).toEqual(['127.0.0.1:9092', 'broker-2:9093']);
      expect(config.kafka?.groupId).toBe('orchestration-service');
      expect(config.kafka?.topics).toEqual({
        input: 'chimera.topics',
        events: 'chimera.events',
        deadLetter: 'chimera.topics.dead-letter',
      });
    });

    it('a server without a port is refused', () => {
      expect(failure({ KAFKA_BOOTSTRAP_SERVERS: 'localhost' }).message).toBe(
        'KAFKA_BOOTSTRAP_SERVERS: expected a comma-separated list of host:port (got "localhost")',
      );
    });

    it('SASL needs a username and a password', () => {
      const error = failure({
        KAFKA_BOOTSTRAP_SERVERS: 'b:9092',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
      });
      expect(error.variable).toBe('KAFKA_SASL_PASSWORD');
      expect(failure({ KAFKA_BOOTSTRAP_SERVERS: 'b:9092', KAFKA_SASL_MECHANISM: 'gssapi' }).message).toMatch(
        /^KAFKA_SASL_MECHANISM: expected one of plain, scram-sha-256, scram-sha-512/,
      );
    });

    it('SSL and SCRAM settings reach the typed config', () => {
      const config = loadConfig({
        KAFKA_BOOTSTRAP_SERVERS: 'b:9092',
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'secret-pw',
      });
      expect(config.kafka?.ssl).toBe(true);
      expect(config.kafka?.sasl).toEqual({
        mechanism: 'scram-sha-512',
        username: 'u',
        password: 'secret-pw',
      });
    });
  });

  describe('providers', () => {
    it('a key configures a provider; GEMINI_API_KEY is an alias of GOOGLE_API_KEY', () => {
      const config = loadConfig({ ANTHROPIC_API_KEY: 'sk-ant-x', GEMINI_API_KEY: 'AIza-x' });
      expect(config.configuredProviders).toEqual(['anthropic', 'gemini', 'simulated']);
      expect(config.providers.gemini.apiKey).toBe('AIza-x');
    });

    it('an OpenAI-compatible base URL alone configures the openai provider', () => {
      const config = loadConfig({
        OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1',
        OPENAI_MODEL: 'llama-3.1-8b',
      });
      expect(config.configuredProviders).toContain('openai');
      expect(config.providers.openai.model).toBe('llama-3.1-8b');
    });

    it('per-provider RPM and TPM override the shared defaults', () => {
      const config = loadConfig({
        RATE_LIMIT_REQUESTS_PER_MINUTE: '100',
        GEMINI_RPM: '15',
        ANTHROPIC_TPM: '40000',
      });
      expect(config.providers.anthropic.rpm).toBe(100);
      expect(config.providers.gemini.rpm).toBe(15);
      expect(config.providers.anthropic.tpm).toBe(40_000);
    });

    it('a base URL must be http(s)', () => {
      expect(failure({ ANTHROPIC_BASE_URL: 'ftp://x' }).message).toBe(
        'ANTHROPIC_BASE_URL: expected an http:// or https:// URL (got "ftp://x")',
      );
    });

    it('CONVERSATION_PROVIDERS must name two configured providers', () => {
      expect(failure({ CONVERSATION_PROVIDERS: 'anthropic' }).variable).toBe('CONVERSATION_PROVIDERS');
      expect(failure({ CONVERSATION_PROVIDERS: 'anthropic,gemini' }).message).toMatch(
        /^CONVERSATION_PROVIDERS: provider anthropic has no credentials/,
      );
      expect(loadConfig({ CONVERSATION_PROVIDERS: 'simulated, simulated' }).conversation.providers).toEqual([
        'simulated',
        'simulated',
      ]);
    });

    it('an API key is never echoed in an error', () => {
      const error = failure({ ANTHROPIC_API_KEY: 'sk-ant-canary-123456', MAX_CONVERSATION_TURNS: 'x' });
      expect(error.message).not.toContain('canary');
    });
  });

  it('RETRY_BASE_DELAY_MS above the max delay is refused', () => {
    expect(failure({ RETRY_BASE_DELAY_MS: '5000', RETRY_MAX_DELAY_SECONDS: '2' }).variable).toBe(
      'RETRY_BASE_DELAY_MS',
    );
  });
});
