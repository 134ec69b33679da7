/**
 * `chimera run`: the daemon. Configuration comes from the environment; the flags below override it for
 * one run. Bad flags and bad variables exit 2 with one line before anything starts.
 */
import { type Command, Option } from 'commander';
import { type Config, chooseSides, type ProviderName } from '../../config.js';
import { DEFAULTS } from '../../defaults.js';
import { assertSafeBinding } from '../../http/request-guard.js';
import { DEFAULT_INSPECT_PORT } from '../../inspect/relay-server.js';
import { createLogger } from '../../logger.js';
import { loadCliConfig, providerFlag } from '../context.js';
import { usageError } from '../errors.js';
import { collect, wholeNumber } from '../options.js';

export interface RunFlags {
  provider?: string;
  /** Every provider through its batch API (`PROVIDER_MODE=batch`). */
  batch?: boolean;
  cancelBatches?: boolean;
  inspect?: boolean;
  inspectPort: number;
  inspectHost: string;
  httpPort?: number;
  drainTimeout: number;
  ui?: boolean;
  uiPort?: number;
  allowHost?: string[];
}

/**
 * The two sides for a daemon: `--provider` for both, else the configured pair or what has credentials.
 * A daemon without any provider key would only ever produce simulated data, so that needs saying so:
 * `--provider simulated`, `CONVERSATION_PROVIDERS=simulated,...` or `TESTING=true`.
 * @throws {ConfigError} naming `--provider` when no provider is usable without asking for simulation.
 */
export function daemonSides(config: Readonly<Config>, provider?: string): [ProviderName, ProviderName] {
  if (provider !== undefined) {
    const name = providerFlag(config, provider);
    return [name, name];
  }
  const sides = chooseSides(config);
  const explicit = config.conversation.providers !== undefined || config.testing;
  if (sides.includes('simulated') && !explicit) {
    throw usageError(
      '--provider',
      'no provider has credentials (set ANTHROPIC_API_KEY, GOOGLE_API_KEY, OPENAI_API_KEY or OPENAI_BASE_URL, or pass --provider simulated for synthetic test data)',
    );
  }
  return sides;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'run the daemon: take topics from the Kafka input topic and/or the Redis topic queue, hold the conversations, publish events; serves /healthz, /readyz and /metrics',
    )
    .option('--provider <name>', 'use this provider for both sides (anthropic, gemini, openai, simulated)')
    .option(
      '--batch',
      'every provider answers through its batch API: half price, hours not seconds (PROVIDER_MODE=batch)',
    )
    .option(
      '--http-port <port>',
      'port of /healthz, /readyz and /metrics; 0 = any free port (default: HTTP_PORT or 9464)',
      wholeNumber(0, 65535),
    )
    .option(
      '--drain-timeout <seconds>',
      'on SIGTERM/SIGINT, how long in-flight conversations may finish before they stop where they are',
      wholeNumber(0, 3600),
      DEFAULTS.DRAIN_TIMEOUT_SECONDS,
    )
    .option(
      '--inspect',
      'serve the Stately inspector: every actor (supervisor, conversations, breakers) live in a browser',
    )
    .option(
      '--inspect-port <port>',
      'port of the inspector page and its WebSocket; 0 = any free port',
      wholeNumber(0, 65535),
      DEFAULT_INSPECT_PORT,
    )
    .addOption(
      new Option(
        '--inspect-host <host>',
        'interface the inspector listens on (0.0.0.0 inside a container)',
      ).default('127.0.0.1'),
    )
    // Web pages: the dashboard, and the rules every page (inspector included) is served under.
    .option(
      '--ui',
      'serve the dashboard (live conversations, throughput, latency, breakers, quality) on --ui-port',
    )
    .option(
      '--ui-port <port>',
      `port of the dashboard, implies --ui; 0 = any free port (default: UI_PORT or ${DEFAULTS.UI_PORT})`,
      wholeNumber(0, 65535),
    )
    .option(
      '--allow-host <host>',
      'also accept this host name in Host/Origin on the dashboard and inspector (repeatable; adds to UI_ALLOWED_HOSTS)',
      collect,
    )
    .action(async (flags: RunFlags) => {
      const config = loadCliConfig(process.env, flags.batch ? { PROVIDER_MODE: 'batch' } : {});
      const sides = daemonSides(config, flags.provider);
      const allowedHosts = [...config.ui.allowedHosts, ...(flags.allowHost ?? [])];
      const token = config.ui.token;
      const uiPort = flags.uiPort ?? config.ui.port ?? (flags.ui ? DEFAULTS.UI_PORT : undefined);
      if (uiPort !== undefined) assertSafeBinding(config.ui.host, token, 'UI_HOST');
      if (flags.inspect) assertSafeBinding(flags.inspectHost, token, '--inspect-host');
      const logger = createLogger({ level: config.log.level, format: config.log.format });
      // Loaded on use: the daemon pulls in every SDK, which `--help` and usage errors need not wait for.
      const { runDaemon } = await import('./run-daemon.js');
      const code = await runDaemon({
        config,
        logger,
        sides,
        httpPort: flags.httpPort ?? config.httpPort,
        drainTimeoutMs: flags.drainTimeout * 1000,
        cancelBatches: flags.cancelBatches ?? false,
        ...(flags.inspect
          ? { inspect: { port: flags.inspectPort, host: flags.inspectHost, allowedHosts, token } }
          : {}),
        ...(uiPort !== undefined ? { ui: { port: uiPort, host: config.ui.host, allowedHosts, token } } : {}),
      });
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      // `main` exits with this code once output is flushed.
      process.exitCode = code;
    });
}
