import { afterEach, describe, expect, it } from 'vitest';
import { loadCliConfig } from '../src/cli/context.js';
import { loadConfig } from '../src/config.js';
import { type ConfigError, isConfigError } from '../src/errors.js';
import { clearRegisteredSecrets, scrubString } from '../src/redact.js';
import { describeRedisUrl, parseSentinelUrl, redisSecrets } from '../src/redis-url.js';

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (isConfigError(error)) return error;
    throw error;
  }
  throw new Error('expected loadConfig to reject');
}

const SENTINELS = '10.0.0.1:26379, 10.0.0.2:26380,[::1]:26381';

describe('config: Redis through Sentinel', () => {
  it('sentinels, master name and both passwords reach one connection URL that decodes back to them', () => {
    const config = loadConfig({
      REDIS_SENTINELS: SENTINELS,
      REDIS_SENTINEL_NAME: 'chimera-main',
      REDIS_PASSWORD: 'data p@ss/word',
      REDIS_SENTINEL_PASSWORD: 'sentinel&secret=1',
    });
    expect(config.redis?.keyPrefix).toBe('chimera');
    expect(parseSentinelUrl(config.redis!.url)).toEqual({
      name: 'chimera-main',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      password: 'data p@ss/word',
      sentinelPassword: 'sentinel&secret=1',
    });
    expect(redisSecrets(config.redis!.url).sort()).toEqual(['data p@ss/word', 'sentinel&secret=1']);
    const described = describeRedisUrl(config.redis!.url);
    expect(described).toBe('master chimera-main via sentinels 10.0.0.1:26379,10.0.0.2:26380,[::1]:26381');
  });

  it('passwords are optional', () => {
    const config = loadConfig({ REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'mymaster' });
    expect(parseSentinelUrl(config.redis!.url)).toEqual({
      name: 'mymaster',
      sentinels: [{ host: '127.0.0.1', port: 26379 }],
    });
  });

  it('sentinels without a master name fail naming REDIS_SENTINEL_NAME', () => {
    const error = failure({ REDIS_SENTINELS: SENTINELS });
    expect(error.variable).toBe('REDIS_SENTINEL_NAME');
    expect(error.message).toMatch(/^REDIS_SENTINEL_NAME: required when REDIS_SENTINELS is set/);
  });

  it('a master name or a sentinel password without sentinels fails naming REDIS_SENTINELS', () => {
    expect(failure({ REDIS_SENTINEL_NAME: 'mymaster' }).message).toBe(
      'REDIS_SENTINELS: required when REDIS_SENTINEL_NAME is set',
    );
    const error = failure({ REDIS_SENTINEL_PASSWORD: 'hunter2222' });
    expect(error.message).toBe('REDIS_SENTINELS: required when REDIS_SENTINEL_PASSWORD is set');
  });

  it('sentinels together with a single node are refused rather than one silently winning', () => {
    for (const [variable, value] of [
      ['REDIS_URL', 'redis://127.0.0.1:6379'],
      ['REDIS_HOST', 'cache'],
      ['REDIS_PORT', '6379'],
    ]) {
      const error = failure({ REDIS_SENTINELS: SENTINELS, REDIS_SENTINEL_NAME: 'm', [variable!]: value! });
      expect(error.variable).toBe('REDIS_SENTINELS');
      expect(error.message).toContain(`cannot be combined with ${variable}`);
    }
  });

  it('a malformed sentinel list names the variable and the expected form', () => {
    for (const bad of ['10.0.0.1', '10.0.0.1:0', 'host:99999', 'a b:1', '::1:26379']) {
      const error = failure({ REDIS_SENTINELS: bad, REDIS_SENTINEL_NAME: 'm' });
      expect(error.variable).toBe('REDIS_SENTINELS');
      expect(error.message).toContain('expected a comma-separated list of host:port');
    }
  });

  it('a master name with spaces or URL syntax is refused', () => {
    for (const bad of ['my master', 'a/b', 'x?y', 'n'.repeat(65)]) {
      const error = failure({ REDIS_SENTINELS: SENTINELS, REDIS_SENTINEL_NAME: bad });
      expect(error.variable).toBe('REDIS_SENTINEL_NAME');
    }
  });

  it('the sentinel password is never echoed in an error', () => {
    const error = failure({ REDIS_SENTINEL_PASSWORD: 'hunter2222-secret' });
    expect(error.message).not.toContain('hunter2222');
  });

  it('a single-node URL is not a sentinel URL and its password is returned decoded too', () => {
    expect(parseSentinelUrl('redis://:p%40ss@host:6379')).toBeUndefined();
    expect(redisSecrets('redis://:p%40ss@host:6379')).toEqual(['p%40ss', 'p@ss']);
    expect(describeRedisUrl('redis://:p%40ss@host:6380')).toBe('host:6380');
  });

  afterEach(() => clearRegisteredSecrets());

  it('both passwords are scrubbed from anything printed once the configuration is loaded', () => {
    const config = loadCliConfig({
      REDIS_SENTINELS: '127.0.0.1:26379',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_PASSWORD: 'data&pass word',
      REDIS_SENTINEL_PASSWORD: 'sentinel/pass=9',
    });
    const text = `failed: data&pass word, sentinel/pass=9, url ${config.redis!.url}`;
    const scrubbed = scrubString(text);
    expect(scrubbed).not.toContain('data&pass word');
    expect(scrubbed).not.toContain('sentinel/pass=9');
    // The URL carries them encoded: neither form survives.
    expect(scrubbed).not.toContain(encodeURIComponent('sentinel/pass=9'));
    expect(scrubbed).not.toContain('data%26pass');
  });
});
