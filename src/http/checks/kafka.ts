import { type Admin, Kafka } from 'kafkajs';
import type { KafkaConfig } from '../../config.js';
import type { Logger } from '../../logger.js';
import { kafkaClientConfig } from '../../services/kafka/client.js';
import type { ReadinessCheck } from '../readiness.js';

/** Short enough that a probe answers within its own timeout, long enough for a TLS + SASL handshake. */
const PROBE_CONNECTION_TIMEOUT_MS = 1_500;

/**
 * Asks the cluster for its brokers over an admin connection of its own, without retries: the service's
 * clients retry for a long time by design, and a probe must say "not answering" instead of waiting.
 * kafkajs' own log lines are silenced here; the failure reason is in the probe's answer.
 */
export function kafkaCheck(config: KafkaConfig, logger: Logger): ReadinessCheck {
  const kafka = new Kafka({
    ...kafkaClientConfig(config, {
      logger: logger.child({ component: 'readiness' }, { level: 'silent' }),
      connectionTimeoutMs: PROBE_CONNECTION_TIMEOUT_MS,
      requestTimeoutMs: PROBE_CONNECTION_TIMEOUT_MS,
    }),
    retry: { retries: 0 },
  });
  let admin: Admin | undefined;

  async function drop(): Promise<void> {
    const current = admin;
    admin = undefined;
    await current?.disconnect().catch(() => {});
  }

  return {
    name: 'kafka',
    async run() {
      try {
        if (!admin) {
          admin = kafka.admin({ retry: { retries: 0 } });
          await admin.connect();
        }
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0
          ? null
          : { code: 'no_brokers', detail: 'no brokers in the cluster metadata' };
      } catch (error) {
        // Reconnect from scratch next time: a half-open admin would keep failing the same way.
        await drop();
        return { code: 'not_answering', detail: error instanceof Error ? error.message : String(error) };
      }
    },
    close: drop,
  };
}
