/**
 * The `chimera` command line: every command registered on one commander program. Errors leave as one line
 * on stderr and an exit code (see `errors.ts`): 0 success, 1 runtime failure, 2 bad usage or configuration.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerBatches } from './commands/batches.js';
import { registerBudget } from './commands/budget.js';
import { registerExport } from './commands/export.js';
import { registerGenerate } from './commands/generate.js';
import { registerJudge } from './commands/judge.js';
import { registerRun } from './commands/run.js';
import { registerStatus } from './commands/status.js';
import { registerTopics } from './commands/topics.js';
import { registerView } from './commands/view.js';
import { EXIT_OK, EXIT_USAGE, errorLine, exitCodeFor } from './errors.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The program with every command; settings are set before commands are added so they inherit them. */
export function buildProgram(): Command {
  const program = new Command('chimera')
    .description('synthetic conversational training data from two language models talking to each other')
    .version(version, '-V, --version')
    .exitOverride()
    .configureOutput({
      // Commander's own errors (unknown option, bad value) become the same one line as ours.
      outputError: (text, write) => write(`chimera: ${text.replace(/^error:\s*/, '').trim()}\n`),
    })
    .showSuggestionAfterError(true);
  registerGenerate(program);
  registerRun(program);
  registerTopics(program);
  registerExport(program);
  registerJudge(program);
  registerStatus(program);
  // Cost: the shared spending cap (src/cli/commands/budget.ts).
  registerBudget(program);
  // Batch mode: the batches out, and cancelling them (src/cli/commands/batches.ts).
  registerBatches(program);
  registerView(program);
  return program;
}

/** Waits until what was written to stdout and stderr is handed to the OS, so exiting loses nothing. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length <= 2) {
    program.outputHelp({ error: true });
    return EXIT_USAGE;
  }
  try {
    // Every action's promise settles when its command is done (`run`: when the daemon has stopped).
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    const code = exitCodeFor(error);
    // Commander already printed its own message (or the help); everything else gets its one line here.
    if (!(error instanceof CommanderError)) process.stderr.write(`${errorLine(error)}\n`);
    return code;
  }
}

// A reader that went away (`| head`) is not a failure of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT_OK);
});

const code = await main(process.argv);
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
// Open clients (Redis reconnect timers, Kafka) must not keep a finished command alive.
process.exit(code);
