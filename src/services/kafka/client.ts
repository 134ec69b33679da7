import {
  Kafka,
  type KafkaConfig as KafkaJsConfig,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { KafkaConfig } from '../../config.js';
import type { Logger } from '../../logger.js';
import { scrub } from '../../redact.js';

/** Long enough for a TLS + SASL handshake to a managed cluster across regions. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;
/** kafkajs' own default: a produce with acks=all on a loaded cluster fits. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface KafkaClientOptions {
  /** Receives kafkajs' own log lines, scrubbed, at the matching level. */
  logger: Logger;
  /** @default DEFAULT_CONNECTION_TIMEOUT_MS (10 s) */
  connectionTimeoutMs?: number;
  /** @default DEFAULT_REQUEST_TIMEOUT_MS (30 s) */
  requestTimeoutMs?: number;
}

/** The kafkajs level that lets through what the pino logger would print anyway. */
function kafkaLevelFor(pinoLevel: string): logLevel {
  switch (pinoLevel) {
    case 'trace':
    case 'debug':
      return logLevel.DEBUG;
    case 'info':
      return logLevel.INFO;
    case 'warn':
      return logLevel.WARN;
    case 'silent':
      return logLevel.NOTHING;
    default:
      return logLevel.ERROR;
  }
}

/** Routes kafkajs logging to pino. Every entry is scrubbed: kafkajs logs broker and SASL details. */
export function kafkaLogCreator(logger: Logger): () => (entry: LogEntry) => void {
  return () => {
    return ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const fields = { kafka: namespace, ...(scrub(extra) as Record<string, unknown>) };
      if (level === logLevel.ERROR) logger.error(fields, message);
      else if (level === logLevel.WARN) logger.warn(fields, message);
      else if (level === logLevel.INFO) logger.info(fields, message);
      else logger.debug(fields, message);
    };
  };
}

function saslOptions({ mechanism, username, password }: NonNullable<KafkaConfig['sasl']>): SASLOptions {
  switch (mechanism) {
    case 'plain':
      return { mechanism, username, password };
    case 'scram-sha-256':
      return { mechanism, username, password };
    case 'scram-sha-512':
      return { mechanism, username, password };
  }
}

/** The kafkajs client settings for a {@link KafkaConfig}: brokers, TLS, SASL and logging. */
export function kafkaClientConfig(config: KafkaConfig, options: KafkaClientOptions): KafkaJsConfig {
  const kafkaConfig: KafkaJsConfig = {
    clientId: config.clientId,
    brokers: [...config.brokers],
    ssl: config.ssl,
    connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    logLevel: kafkaLevelFor(options.logger.level),
    logCreator: kafkaLogCreator(options.logger),
  };
  if (config.sasl) kafkaConfig.sasl = saslOptions(config.sasl);
  return kafkaConfig;
}

export function createKafkaClient(config: KafkaConfig, options: KafkaClientOptions): Kafka {
  return new Kafka(kafkaClientConfig(config, options));
}

/**
 * The producer every Chimera publish goes through: idempotent, so a retried send after a lost
 * acknowledgement does not write the message twice. kafkajs requires acks=-1 (all) on each send for
 * that and retries without limit; one request in flight per broker keeps the sequence numbers, and so
 * each partition's order, intact across retries. The partitioner is named explicitly: it is kafkajs 2's
 * default (murmur2, Java-compatible) and naming it silences the start-up warning about the change.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
}
