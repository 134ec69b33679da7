import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type FakeProviderServer, startFakeProviderServer } from './server.js';

/**
 * Runs the fake provider server on its own, for demos and manual runs against the real service:
 *   node --import tsx tools/fake-provider/main.ts --port 8787 [--latency-ms 200] [--rpm 60] [--tpm 100000]
 *     [--batch-delay-ms 60000] [--batch-error-rate 0.1] [--batch-expired-rate 0.05]
 * It prints the base URLs as environment lines to paste or `eval` (`npm run fake-provider -- --port 8787`).
 */

export interface FakeProviderCliOptions {
  port: number;
  host: string;
  latencyMs: number;
  seed: number;
  rpm?: number;
  tpm?: number;
  /** How batches behave: processing delay, fractions of errored and expired requests. */
  batch: { delayMs: number; errorRate: number; expiredRate: number };
}

export const FAKE_PROVIDER_USAGE =
  'usage: fake-provider [--port 8787] [--host 127.0.0.1] [--latency-ms 0] [--seed 1] [--rpm N] [--tpm N] [--batch-delay-ms 0] [--batch-error-rate 0] [--batch-expired-rate 0]';

function wholeNumber(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value))
    throw new Error(`--${name}: expected a whole number (got ${JSON.stringify(value)})`);
  return Number(value);
}

function fraction(name: string, value: string | undefined): number {
  if (value === undefined) return 0;
  const parsed = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || parsed > 1) {
    throw new Error(`--${name}: expected a fraction from 0 to 1 (got ${JSON.stringify(value)})`);
  }
  return parsed;
}

export function parseFakeProviderArgs(argv: string[]): FakeProviderCliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'latency-ms': { type: 'string' },
      seed: { type: 'string' },
      rpm: { type: 'string' },
      tpm: { type: 'string' },
      'batch-delay-ms': { type: 'string' },
      'batch-error-rate': { type: 'string' },
      'batch-expired-rate': { type: 'string' },
    },
    strict: true,
  });
  return {
    port: wholeNumber('port', values.port, 8787)!,
    host: values.host ?? '127.0.0.1',
    latencyMs: wholeNumber('latency-ms', values['latency-ms'], 0)!,
    seed: wholeNumber('seed', values.seed, 1)!,
    rpm: wholeNumber('rpm', values.rpm),
    tpm: wholeNumber('tpm', values.tpm),
    batch: {
      delayMs: wholeNumber('batch-delay-ms', values['batch-delay-ms'], 0)!,
      errorRate: fraction('batch-error-rate', values['batch-error-rate']),
      expiredRate: fraction('batch-expired-rate', values['batch-expired-rate']),
    },
  };
}

/** The environment that points every provider of the service at `fake`. */
export function fakeProviderEnv(fake: FakeProviderServer): string[] {
  return [
    `ANTHROPIC_BASE_URL=${fake.urls.anthropic}`,
    `GOOGLE_GEMINI_BASE_URL=${fake.urls.gemini}`,
    `OPENAI_BASE_URL=${fake.urls.openai}`,
  ];
}

/** Starts the server from command-line arguments and prints where it listens. */
export async function runFakeProvider(
  argv: string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<FakeProviderServer> {
  const options = parseFakeProviderArgs(argv);
  const quota =
    options.rpm !== undefined || options.tpm !== undefined
      ? { rpm: options.rpm, tpm: options.tpm }
      : undefined;
  const fake = await startFakeProviderServer({
    port: options.port,
    host: options.host,
    latencyMs: options.latencyMs,
    seed: options.seed,
    quota,
    batch: options.batch,
  });
  out(`fake provider listening on ${fake.url}`);
  for (const line of fakeProviderEnv(fake)) out(line);
  return fake;
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  runFakeProvider(process.argv.slice(2)).then(
    (fake) => {
      const stop = () => {
        fake.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (error: unknown) => {
      process.stderr.write(
        `${error instanceof Error ? error.message : String(error)}\n${FAKE_PROVIDER_USAGE}\n`,
      );
      process.exit(2);
    },
  );
}
