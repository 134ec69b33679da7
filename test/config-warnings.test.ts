import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Chimera } from '../src/chimera.js';
import { loadConfig, startupWarnings } from '../src/config.js';
import { createLogger } from '../src/logger.js';

const sasl = {
  KAFKA_BOOTSTRAP_SERVERS: 'broker:9092',
  KAFKA_SASL_MECHANISM: 'plain',
  KAFKA_SASL_USERNAME: 'u',
  KAFKA_SASL_PASSWORD: 'kafka-secret-pw',
};

describe('start-up warnings', () => {
  it('SASL/PLAIN without TLS: the password crosses the network in clear', () => {
    const warnings = startupWarnings(loadConfig(sasl));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/KAFKA_SASL_MECHANISM=plain.*KAFKA_SSL/);
    expect(warnings[0]).not.toContain('kafka-secret-pw');
    expect(startupWarnings(loadConfig({ ...sasl, KAFKA_SSL: 'true' }))).toEqual([]);
    expect(startupWarnings(loadConfig({ ...sasl, KAFKA_SASL_MECHANISM: 'scram-sha-512' }))).toEqual([]);
  });

  it('a provider key sent over plain http:// to a host that is not this machine', () => {
    const warnings = startupWarnings(
      loadConfig({ OPENAI_API_KEY: 'sk-test-key-123456', OPENAI_BASE_URL: 'http://10.1.2.3:8000/v1' }),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/OPENAI_BASE_URL.*http:\/\/.*10\.1\.2\.3/);
    expect(warnings[0]).not.toContain('sk-test-key-123456');
    const quiet = [
      { ANTHROPIC_API_KEY: 'sk-ant-k', ANTHROPIC_BASE_URL: 'https://proxy.example' },
      { ANTHROPIC_API_KEY: 'sk-ant-k', ANTHROPIC_BASE_URL: 'http://127.0.0.1:4010' },
      { GOOGLE_API_KEY: 'AIza-k', GOOGLE_GEMINI_BASE_URL: 'http://localhost:4010' },
      { OPENAI_API_KEY: 'sk-k', OPENAI_BASE_URL: 'http://[::1]:8000/v1' },
      // No key: nothing secret travels.
      { OPENAI_BASE_URL: 'http://10.1.2.3:8000/v1' },
    ];
    for (const env of quiet) expect(startupWarnings(loadConfig(env)), JSON.stringify(env)).toEqual([]);
  });

  it('are logged when the service starts', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        callback();
      },
    });
    const config = loadConfig({
      OPENAI_API_KEY: 'sk-test-key-123456',
      OPENAI_BASE_URL: 'http://10.1.2.3:8000/v1',
    });
    const chimera = await Chimera.create(config, {
      logger: createLogger({ level: 'warn', destination }),
      sides: ['simulated', 'simulated'],
      intake: 'none',
    });
    await chimera.stop();
    const warning = lines.find((line) => String(line.msg).includes('OPENAI_BASE_URL'));
    expect(warning).toMatchObject({ level: 40 });
  });
});
