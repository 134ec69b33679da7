import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { kafkaClientConfig, kafkaLogCreator } from '../../src/services/kafka/client.js';

function capture(level = 'debug') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}

describe('Kafka client settings', () => {
  it('brokers, client id, TLS and SCRAM come from the config', () => {
    const config = loadConfig({
      KAFKA_BOOTSTRAP_SERVERS: 'b1:9093,b2:9093',
      KAFKA_CLIENT_ID: 'chimera-eu',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 'kafka-CANARY-pass-4242',
    }).kafka!;
    const settings = kafkaClientConfig(config, { logger: capture().logger });
    expect(settings.brokers).toEqual(['b1:9093', 'b2:9093']);
    expect(settings.clientId).toBe('chimera-eu');
    expect(settings.ssl).toBe(true);
    expect(settings.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'svc',
      password: 'kafka-CANARY-pass-4242',
    });
  });

  it('without SASL or TLS settings the client connects in plain text', () => {
    const config = loadConfig({ KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9092' }).kafka!;
    const settings = kafkaClientConfig(config, { logger: capture().logger });
    expect(settings.ssl).toBe(false);
    expect(settings.sasl).toBeUndefined();
  });

  it('kafkajs filters its logs at the pino level', () => {
    const config = loadConfig({ KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9092' }).kafka!;
    expect(kafkaClientConfig(config, { logger: capture('warn').logger }).logLevel).toBe(logLevel.WARN);
    expect(kafkaClientConfig(config, { logger: capture('silent').logger }).logLevel).toBe(logLevel.NOTHING);
  });

  it('kafkajs log entries reach pino at their level with secrets scrubbed', () => {
    const { logger, lines } = capture();
    const log = kafkaLogCreator(logger)();
    log({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: {
        timestamp: 'now',
        message: 'Connection error',
        broker: 'b1:9093',
        sasl: { mechanism: 'plain', username: 'svc', password: 'kafka-CANARY-pass-4242' },
      },
    });
    log({
      namespace: 'Consumer',
      level: logLevel.INFO,
      label: 'INFO',
      log: { timestamp: 'now', message: 'joined' },
    });

    const [error, info] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(error).toMatchObject({
      level: 50,
      msg: 'Connection error',
      kafka: 'Connection',
      broker: 'b1:9093',
    });
    expect(info).toMatchObject({ level: 30, msg: 'joined', kafka: 'Consumer' });
    expect(lines.join('')).not.toContain('CANARY');
  });
});
