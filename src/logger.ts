import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { REDACTED, scrub, scrubString } from './redact.js';

export type { Logger } from 'pino';

/** Paths pino removes before anything else sees them; `scrub` catches what paths cannot name. */
export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-goog-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers["x-goog-api-key"]',
  'config.providers.*.apiKey',
  'config.kafka.sasl.password',
  'config.redis.url',
];

export interface LoggerSettings {
  level?: string;
  format?: 'json' | 'pretty';
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

/**
 * The process logger: JSON lines by default, pretty on request. Every line passes through `scrub`, so
 * registered secret values, keys in URLs and secret-named fields never reach the output.
 */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: 'chimera', ...settings.base },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: { err: (e: unknown) => scrub(e), error: (e: unknown) => scrub(e) },
    formatters: {
      log: (object) => scrub(object) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        // Strings, and the values `%o`, `%O`, `%j` and `%s` put into the message (the first argument, an
        // object, is merged into the line and scrubbed by the formatter).
        const cleaned: unknown[] = args.map((arg, i) =>
          typeof arg === 'string' ? scrubString(arg) : i > 0 ? scrub(arg) : arg,
        );
        // pino copies an error's message into `msg` itself, past the formatter: hand it a scrubbed one.
        const [first, second] = cleaned;
        const error = first instanceof Error ? first : (first as { err?: unknown } | null)?.err;
        if (error instanceof Error && typeof second !== 'string') {
          const merged = first instanceof Error ? { err: first } : first;
          return method.apply(this, [merged, scrubString(error.message), ...cleaned.slice(1)] as Parameters<
            typeof method
          >);
        }
        return method.apply(this, cleaned as Parameters<typeof method>);
      },
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (settings.format === 'pretty' && !settings.destination) {
    return scrubbingChildren(
      pino({ ...options, transport: { target: 'pino-pretty', options: { destination: 2 } } }),
    );
  }
  return scrubbingChildren(pino(options, settings.destination ?? pino.destination({ dest: 1, sync: false })));
}

/**
 * A child logger's fields (`logger.child({ ... })`) are serialised once, past the `log` formatter, and
 * pino applies `formatters.bindings` to the root's only: the root's `child` scrubs them first. Children
 * are prototype copies of their parent, so every descendant inherits it (`this` is the one called on).
 */
function scrubbingChildren(logger: Logger): Logger {
  const original = logger.child;
  logger.child = function child(this: Logger, bindings, options) {
    return original.call(this, scrub(bindings) as typeof bindings, options);
  } as Logger['child'];
  return logger;
}

/** A child logger that tags every line with the conversation and provider it concerns. */
export function conversationLogger(
  parent: Logger,
  fields: { conversationId: string; provider?: string },
): Logger {
  return parent.child(fields);
}
