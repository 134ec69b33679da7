import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { conversationLogger, createLogger } from '../src/logger.js';
import { clearRegisteredSecrets, registerSecrets } from '../src/redact.js';

const CANARIES = {
  anthropic: 'sk-ant-api03-CANARYanthropic0000000000',
  google: 'AIzaSyCANARYgoogle000000000000000000',
  openai: 'sk-proj-CANARYopenai0000000000000000',
  redisPassword: 'redis-CANARY-pass-4242',
  kafkaPassword: 'kafka-CANARY-pass-4242',
  unknownShape: 'zq9-CANARY-opaque-token-77',
};

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ level: 'trace', destination });
  return { logger, output: () => lines.join('') };
}

afterEach(() => clearRegisteredSecrets());

describe('logger redaction', () => {
  it('no canary secret reaches the output, whatever shape carries it', () => {
    registerSecrets([CANARIES.redisPassword, CANARIES.kafkaPassword, CANARIES.unknownShape]);
    const { logger, output } = capture();

    logger.info({ apiKey: CANARIES.anthropic }, 'provider configured');
    logger.info({ config: { providers: { gemini: { apiKey: CANARIES.google } } } }, 'config');
    logger.info({
      request: { headers: { authorization: `Bearer ${CANARIES.openai}`, 'x-api-key': CANARIES.anthropic } },
    });
    logger.info({ deep: { a: { b: { c: { d: { 'x-goog-api-key': CANARIES.google } } } } } });
    logger.warn({
      url: `https://generativelanguage.googleapis.com/v1beta/models/x:generateContent?key=${CANARIES.google}`,
    });
    logger.info({ redis: `redis://default:${CANARIES.redisPassword}@cache:6379/0` });
    logger.info({ sasl: { mechanism: 'plain', username: 'u', password: CANARIES.kafkaPassword } });
    logger.error(`request failed with key ${CANARIES.anthropic} and token ${CANARIES.unknownShape}`);
    const sdkError = new Error(`401 invalid x-api-key: ${CANARIES.anthropic}`);
    Object.assign(sdkError, { headers: { 'x-api-key': CANARIES.anthropic }, status: 401 });
    logger.error({ err: sdkError }, 'anthropic call failed');
    logger.error(new Error(`upstream said: password=${CANARIES.kafkaPassword}`));
    logger.error(
      { err: new Error('wrapper', { cause: new Error(`inner ${CANARIES.openai}`) }) },
      'nested cause',
    );
    conversationLogger(logger, { conversationId: 'c-1', provider: 'gemini' }).info(
      { text: `the key is ${CANARIES.google}` },
      'turn',
    );

    const text = output();
    for (const secret of Object.values(CANARIES)) expect(text).not.toContain(secret);
    expect(text).not.toContain('CANARY');
    expect(text).toContain('[REDACTED]');
    expect(text.trim().split('\n')).toHaveLength(12);
  });

  it('closes the gaps: %o/%j/%s arguments, child bindings, URL-encoded passwords, passwords with @, secret-named fields', () => {
    const atPassword = 'p@ss/CANARY@word';
    // As the config builds it: REDIS_PASSWORD percent-encoded into the URL, then registered from the config.
    const url = new URL('redis://cache:6379');
    url.password = atPassword;
    registerSecrets([atPassword]);
    const { logger, output } = capture();

    logger.info('settings %o', { redisPassword: 'CANARY-redis-field-1' });
    logger.info('settings %j', { anthropicApiKey: 'CANARY-apikey-field-2' });
    logger.info('settings %O', { sasl: { saslPassword: 'CANARY-sasl-field-3' } });
    logger.info('connecting to %s', url.toString());
    logger.child({ apiKey: 'CANARY-binding-4', clientSecret: 'CANARY-binding-5' }).info('child line');
    logger
      .child({ component: 'x' })
      .child({ config: { uiToken: 'CANARY-binding-6' } })
      .info('grandchild');
    logger.info({ GOOGLE_API_KEY: 'CANARY-env-7', 'X-Api-Key': 'CANARY-header-8', accessToken: 'CANARY-9' });
    logger.info({ url: `redis://user:${atPassword}@cache:6379/0` }, 'raw url with an @ in the password');
    logger.info({ encoded: url.password }, 'encoded form alone');

    const text = output();
    expect(text).not.toContain('CANARY');
    expect(text).not.toContain(encodeURIComponent(atPassword));
    expect(text.trim().split('\n')).toHaveLength(9);
  });

  it('fields that only look like secrets keep their values: token counts, fencing tokens, keys of messages', () => {
    const { logger, output } = capture();
    logger.info({
      inputTokens: 12,
      maxTokensPerTurn: 1024,
      fencingToken: 7,
      key: 'c-1',
      keyPrefix: 'chimera',
    });
    const line = JSON.parse(output()) as Record<string, unknown>;
    expect(line).toMatchObject({
      inputTokens: 12,
      maxTokensPerTurn: 1024,
      fencingToken: 7,
      key: 'c-1',
      keyPrefix: 'chimera',
    });
  });

  it('child loggers tag lines with conversationId and provider', () => {
    const { logger, output } = capture();
    conversationLogger(logger, { conversationId: 'conv-9', provider: 'anthropic' }).info('hello');
    const line = JSON.parse(output().trim());
    expect(line).toMatchObject({
      conversationId: 'conv-9',
      provider: 'anthropic',
      msg: 'hello',
      service: 'chimera',
    });
  });

  it('ordinary fields pass through untouched', () => {
    const { logger, output } = capture();
    logger.info(
      { turns: 3, topic: 'The future of AI in healthcare', keyword: 'apiKeys are rotated monthly' },
      'ok',
    );
    const line = JSON.parse(output().trim());
    expect(line.turns).toBe(3);
    expect(line.topic).toBe('The future of AI in healthcare');
    expect(line.keyword).toBe('apiKeys are rotated monthly');
  });

  it('errors keep their message and stack, scrubbed', () => {
    const { logger, output } = capture();
    logger.error({ err: new Error('connection refused') }, 'redis down');
    const line = JSON.parse(output().trim());
    expect(line.err.message).toBe('connection refused');
    expect(line.err.type).toBe('Error');
    expect(line.err.stack).toContain('logger.test.ts');
  });
});
