/**
 * The daemon's life: what `Chimera` is, plus HTTP, signals and logging. HTTP endpoints first (so probes
 * get answers while Redis and Kafka connect), then the service, then work until SIGTERM or SIGINT. Shutdown drains: readiness turns 503, intake stops,
 * in-flight conversations finish within the drain timeout or stop with their last step persisted, leases
 * are released and the outbox flushed. A second signal, or a drain that overruns its bound, exits at once;
 * nothing is lost either way, since every step is already in the store for another daemon to adopt.
 */
import { Registry } from 'prom-client';
import type { InspectionEvent } from 'xstate';
import { collectProcessMetrics } from '../../app/service-metrics.js';
import { Chimera } from '../../chimera.js';
import type { Config, ProviderName } from '../../config.js';
import { kafkaCheck } from '../../http/checks/kafka.js';
import { providersCheck } from '../../http/checks/providers.js';
import { redisCheck } from '../../http/checks/redis.js';
import { Readiness } from '../../http/readiness.js';
import { createRoutes } from '../../http/routes.js';
import { startHttpServer } from '../../http/server.js';
import { type ChimeraInspector, startInspector } from '../../inspect/inspector.js';
import type { Logger } from '../../logger.js';
import { type Dashboard, startDashboard } from '../../ui/dashboard.js';
import { EXIT_FAILURE, EXIT_OK, errorLine, usageError } from '../errors.js';

export interface DaemonOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Questioner, then answerer. */
  sides: [ProviderName, ProviderName];
  /** 0 binds any free port (logged). */
  httpPort: number;
  /** How long a drain waits for in-flight conversations before stopping them where they are. */
  drainTimeoutMs: number;
  /** On SIGTERM/SIGINT, cancel the providers' batches out before draining. @default false: they stay for the next daemon */
  cancelBatches?: boolean;
  /** Starts the Stately inspector's relay on this address. @default off */
  inspect?: { port: number; host: string; allowedHosts?: readonly string[]; token?: string };
  /** Serves the dashboard on this address (see `src/ui/dashboard.ts`). @default off */
  ui?: { port: number; host: string; allowedHosts?: readonly string[]; token?: string };
}

/**
 * Time a shutdown may take beyond the drain timeout: releasing leases and flushing the outbox (the relay
 * gives itself 5 s), then closing connections.
 */
export const SHUTDOWN_GRACE_MS = 15_000;

type Stop = { reason: string; code: number };

function modeOf(redis: boolean, kafka: boolean): string {
  if (redis && kafka) return 'redis+kafka';
  if (redis) return 'redis';
  if (kafka) return 'kafka';
  return 'embedded';
}

async function listen<T>(port: number, start: () => Promise<T>, flag: string): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw usageError(flag, `port ${port} is already in use (choose another, or 0 for any free port)`);
    }
    throw error;
  }
}

/** Runs until a signal or a fatal error; resolves with the process exit code. */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const { config, logger, sides } = options;
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) {
      await step().catch((err: unknown) => logger.warn({ err }, 'error while shutting down'));
    }
    cleanups.length = 0;
  };

  // Signals and fatal errors can come at any point, even while Redis or Kafka are still connecting.
  let requestStop!: (stop: Stop) => void;
  const stopRequested = new Promise<Stop>((resolve) => (requestStop = resolve));
  // Exits without waiting for anything else: every step is already in the store for another daemon.
  const forceExit = (code: number) => {
    process.exitCode = code;
    logger.flush(() => process.exit(code));
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      logger.info({ signal }, 'shutting down: draining in-flight conversations');
      requestStop({ reason: signal, code: EXIT_OK });
      return;
    }
    logger.warn({ signal }, 'second signal: exiting without finishing the drain (progress is in the store)');
    forceExit(EXIT_FAILURE);
  };
  const onFatal = (error: unknown) => {
    logger.fatal({ err: error }, 'fatal error');
    process.stderr.write(`${errorLine(error)}\n`);
    forceExit(EXIT_FAILURE);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  cleanups.push(async () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
  });

  let chimera: Chimera | undefined;
  const readiness = new Readiness({ logger: logger.child({ component: 'readiness' }) });
  try {
    const registry = new Registry();
    collectProcessMetrics(registry);
    if (config.redis) readiness.add(redisCheck(config.redis.url));
    if (config.kafka) readiness.add(kafkaCheck(config.kafka, logger));
    cleanups.push(() => readiness.close());

    const http = await listen(
      options.httpPort,
      () =>
        startHttpServer({
          port: options.httpPort,
          host: config.httpHost,
          handler: createRoutes({ readiness, registry }),
          onError: (err) => logger.warn({ err }, 'HTTP request failed'),
        }),
      'HTTP_PORT',
    );
    cleanups.push(() => http.close());
    // Logged before connecting to Redis and Kafka, which can take long: probes can find the port now.
    logger.info(
      { httpPort: http.port, httpHost: config.httpHost },
      `HTTP endpoints on ${config.httpHost}:${http.port}: /healthz, /readyz, /metrics`,
    );

    let inspector: ChimeraInspector | undefined;
    if (options.inspect) {
      const { port, host, allowedHosts, token } = options.inspect;
      inspector = await listen(
        port,
        () => startInspector({ port, host, allowedHosts, token }),
        '--inspect-port',
      );
      cleanups.push(() => inspector!.stop());
    }

    // Dashboard: fed only by inspection events here and by `attach` below (finished records, the store).
    let dashboard: Dashboard | undefined;
    if (options.ui) {
      const ui = options.ui;
      dashboard = await listen(
        ui.port,
        () =>
          startDashboard({
            config,
            registry,
            ...ui,
            onError: (err) => logger.warn({ err }, 'dashboard request failed'),
          }),
        '--ui-port',
      );
      cleanups.push(() => dashboard!.close());
    }
    const observers = [inspector?.inspect, dashboard?.inspect].filter((f) => f !== undefined);

    const creating = Chimera.create(config, {
      logger,
      sides,
      intake: 'auto',
      registry,
      drainTimeoutMs: options.drainTimeoutMs,
      ...(observers.length > 0
        ? {
            inspect: (event: InspectionEvent) => {
              for (const observe of observers) observe(event);
            },
          }
        : {}),
    });
    // Connecting waits for Redis and Kafka as long as it takes; a signal meanwhile must still stop us.
    const early = await Promise.race([creating.then(() => null), stopRequested]);
    if (early) {
      logger.info({ reason: early.reason }, 'stopped before start-up finished: nothing was running');
      creating.then((late) => late.stop()).catch(() => {});
      await cleanup();
      return early.code;
    }
    chimera = await creating;
    const service = chimera;
    readiness.add(providersCheck(() => service.parts.breakers));
    dashboard?.attach({
      onFinished: (listener) => service.onFinished(listener),
      store: service.parts.store,
      providers: sides,
      ...(service.parts.redis ? { redis: service.parts.redis } : {}),
      // Spend as every daemon on the Redis sees it (this process's alone in embedded mode).
      spend: async () => {
        const budget = await service.parts.spending.snapshot();
        return {
          currency: 'USD',
          totalMicros: budget.spentMicros,
          perHourMicros: budget.spentLastHourMicros,
          ...(budget.capMicros === null ? {} : { capMicros: budget.capMicros }),
        };
      },
      // Batches this daemon's batchers have out (batch mode only).
      ...(service.parts.batchers.size > 0
        ? {
            batches: async () => {
              const batchers = [...service.parts.batchers.values()];
              const out = batchers.flatMap((batcher) => batcher.batchesOut());
              return {
                outstanding: out.length,
                requestsOutstanding: out.reduce((sum, batch) => sum + batch.requests, 0),
                completed: Math.max(
                  0,
                  batchers.reduce((sum, batcher) => sum + batcher.batchesSubmitted, 0) - out.length,
                ),
              };
            },
          }
        : {}),
    });
    // Nothing takes work once the supervisor stops other than by a drain: exit so another daemon can.
    service.onUnexpectedStop((err) =>
      requestStop(
        err === undefined
          ? { reason: 'supervisor stopped unexpectedly', code: EXIT_FAILURE }
          : { reason: `supervisor failed: ${errorLine(err)}`, code: EXIT_FAILURE },
      ),
    );

    service.start();
    readiness.phase = 'running';
    const { redis, kafka } = service.parts.mode;
    logger.info(
      {
        mode: modeOf(redis, kafka),
        sides: { questioner: sides[0], answerer: sides[1] },
        httpPort: http.port,
        ...(inspector ? { inspectorUrl: inspector.relay.url } : {}),
        ...(dashboard ? { dashboardUrl: dashboard.url } : {}),
        drainTimeoutMs: options.drainTimeoutMs,
        maxConcurrent: config.conversation.maxConcurrent,
        intake: [
          ...(config.kafka ? [`kafka:${config.kafka.topics.input}`] : []),
          ...(config.redis ? [`redis:${config.redis.topicQueue}`] : []),
        ],
      },
      `chimera daemon started (${modeOf(redis, kafka)}) on HTTP port ${http.port}`,
    );
    if (!redis && !kafka) {
      logger.warn(
        'neither Redis nor Kafka is configured: no topic intake (set KAFKA_BOOTSTRAP_SERVERS or REDIS_URL; `chimera generate` runs topics in-process)',
      );
    }
    if (inspector) {
      logger.info(
        { inspectorUrl: inspector.relay.url },
        `Stately inspector: open ${inspector.relay.url} in a browser`,
      );
    }
    if (dashboard) {
      logger.info({ dashboardUrl: dashboard.url }, `dashboard: open ${dashboard.url} in a browser`);
      process.stderr.write(`chimera run: dashboard at ${dashboard.url}\n`);
    }
    if (sides.includes('simulated')) {
      logger.warn(
        'SIMULATED provider: conversations are not real model output (records say "simulated": true)',
      );
    }

    const stop = await stopRequested;
    return await shutDown(service, stop);
  } catch (error) {
    // Start-up failed (a bad port, Kafka unreachable): release what was opened; the caller prints the line.
    logger.error({ err: error }, 'start-up failed');
    await chimera?.stop().catch(() => {});
    await cleanup();
    throw error;
  }

  async function shutDown(service: Chimera, stop: Stop): Promise<number> {
    readiness.phase = 'draining';
    if (stop.code !== EXIT_OK) logger.error({ reason: stop.reason }, 'stopping after a fatal error');
    const boundMs = options.drainTimeoutMs + SHUTDOWN_GRACE_MS;
    const backstop = setTimeout(() => {
      logger.error({ boundMs }, 'shutdown overran its bound: exiting (progress is in the store)');
      forceExit(EXIT_FAILURE);
    }, boundMs);
    backstop.unref();
    const before = service.supervision;
    let code = stop.code;
    try {
      if (options.cancelBatches) await service.cancelBatches();
      await service.stop();
    } catch (err) {
      // Whatever did not get saved is still in the store from the last step; another daemon resumes it.
      logger.error({ err }, 'shutdown failed part-way: leases lapse on their own');
      code = EXIT_FAILURE;
    }
    const after = service.supervision;
    const finished =
      after.settled - before.settled + after.lost - before.lost + after.crashed - before.crashed;
    await cleanup();
    clearTimeout(backstop);
    logger.info(
      {
        inFlightAtSignal: before.active,
        finishedDuringDrain: finished,
        // Stopped at their last saved step, leases released: the next daemon carries them on.
        stoppedMidway: Math.max(0, before.active - finished),
        settled: after.settled,
      },
      'chimera daemon stopped',
    );
    return code;
  }
}
