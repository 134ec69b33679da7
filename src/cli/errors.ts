/**
 * Exit codes and the one line a failed command prints. Scripts branch on the code: 2 means "fix the
 * command line or the environment", 1 means "it was right but something failed while running".
 */
import { CommanderError } from 'commander';
import { ConfigError, isChimeraError, isConfigError } from '../errors.js';
import { scrubString } from '../redact.js';

export const EXIT_OK = 0;
/** Something failed while running: a conversation failed, Redis or Kafka went away. */
export const EXIT_FAILURE = 1;
/** Bad flags or a bad environment variable: nothing was attempted. */
export const EXIT_USAGE = 2;

/** A bad flag or a missing input, reported like a bad variable: `--flag: what is wrong`. */
export function usageError(flag: string, message: string): ConfigError {
  return new ConfigError(flag, message);
}

/** Commander codes that mean the user asked for help or the version: not a failure. */
const INFORMATIONAL = new Set(['commander.helpDisplayed', 'commander.version']);

/** The exit code an error thrown out of a command stands for. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return INFORMATIONAL.has(error.code) ? EXIT_OK : EXIT_USAGE;
  if (isConfigError(error)) return EXIT_USAGE;
  return EXIT_FAILURE;
}

/**
 * The single line shown for an error: its message, on one line, scrubbed of registered secrets. Never a
 * stack trace: the message of a `ChimeraError` is written for the user; anything else gets its class name
 * so a bug is still recognisable.
 */
export function errorLine(error: unknown): string {
  let text: string;
  if (isChimeraError(error)) text = error.message;
  else if (error instanceof Error)
    text = error.name === 'Error' ? error.message : `${error.name}: ${error.message}`;
  else text = String(error);
  return `chimera: ${scrubString(text)
    .replace(/\s*\n\s*/g, ' ')
    .trim()}`;
}
