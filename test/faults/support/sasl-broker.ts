/**
 * A single-node Kafka broker that requires SASL/PLAIN on its client listener, so a scenario can run the
 * daemon with a real `KAFKA_SASL_PASSWORD` end to end. It runs the jars scripts/kafka.sh fetches (the
 * same Apache Kafka), with a configuration of its own: kafka.sh's brokers have no SASL.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { freePort } from '../../../scripts/services.js';
import { repoRoot } from '../../support/cli.js';

const run = promisify(execFile);

export interface SaslBroker {
  url: string;
  username: string;
  stop(): Promise<void>;
}

const KAFKA_VERSION = process.env.CHIMERA_KAFKA_VERSION ?? '4.1.1';

async function answers(url: string, username: string, password: string): Promise<boolean> {
  const admin = new kafkajs.Kafka({
    brokers: [url],
    sasl: { mechanism: 'plain', username, password },
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Starts the broker (fetching the jars first if needed) and resolves once an authenticated client gets in. */
export async function startSaslBroker(password: string, username = 'chimera'): Promise<SaslBroker> {
  await run('bash', ['scripts/kafka.sh', 'fetch'], { cwd: repoRoot, timeout: 600_000 });
  const jars = join(
    process.env.CHIMERA_CACHE_DIR ?? join(homedir(), '.cache', 'chimera'),
    `kafka-${KAFKA_VERSION}`,
    'libs',
  );
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'chimera-faults-sasl-'));
  mkdirSync(join(dir, 'data'));
  const jaas = `org.apache.kafka.common.security.plain.PlainLoginModule required username="${username}" password="${password}" user_${username}="${password}";`;
  writeFileSync(
    join(dir, 'server.properties'),
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
      `listeners=SASL_PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=SASL_PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=SASL_PLAINTEXT',
      'listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
      'sasl.enabled.mechanisms=PLAIN',
      'sasl.mechanism.inter.broker.protocol=PLAIN',
      `listener.name.sasl_plaintext.plain.sasl.jaas.config=${jaas}`,
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=3',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'log4j2.properties'),
    [
      'status = warn',
      'appender.file.type = File',
      'appender.file.name = FILE',
      `appender.file.fileName = ${join(dir, 'server.log')}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = WARN',
      'rootLogger.appenderRef.file.ref = FILE',
      '',
    ].join('\n'),
  );
  const javaOptions = [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
  ];
  const classpath = join(jars, '*');
  const { stdout } = await run('java', [
    '-cp',
    classpath,
    ...javaOptions,
    'kafka.tools.StorageTool',
    'random-uuid',
  ]);
  const clusterId = stdout.trim().split('\n').at(-1)!;
  await run('java', [
    '-cp',
    classpath,
    ...javaOptions,
    'kafka.tools.StorageTool',
    'format',
    '--standalone',
    '-t',
    clusterId,
    '-c',
    join(dir, 'server.properties'),
  ]);
  const child: ChildProcess = spawn(
    'java',
    ['-cp', classpath, ...javaOptions, 'kafka.Kafka', join(dir, 'server.properties')],
    {
      stdio: 'ignore',
    },
  );
  const url = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await once(child, 'exit');
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 120_000;
  while (!(await answers(url, username, password))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the SASL broker did not come up on ${url}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { url, username, stop };
}
