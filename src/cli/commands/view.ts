/**
 * `chimera view FILE|DIR`: the dataset viewer. Indexes the dataset by streaming it once (byte offsets and
 * the few fields the filters need), then serves the viewer on a local port until SIGINT or SIGTERM. A
 * conversation's text is read from its file when its page opens, so a dataset far larger than memory
 * opens in seconds.
 */
import { type Command, Option } from 'commander';
import { DEFAULTS } from '../../config.js';
import { DatasetIndex } from '../../ui/dataset/dataset-index.js';
import { DatasetPathError, openDataset } from '../../ui/dataset/open-dataset.js';
import { datasetBackend } from '../../ui/dataset-backend.js';
import { startUiServer } from '../../ui/server.js';
import { loadCliConfig } from '../context.js';
import { usageError } from '../errors.js';
import { collect, wholeNumber } from '../options.js';

interface ViewFlags {
  port: number;
  host?: string;
  allowHost?: string[];
}

function plural(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

export function registerView(program: Command): void {
  program
    .command('view')
    .description(
      'open a dataset (JSONL in the chimera, openai or sharegpt format; a file or a folder of them) in the browser: search, filters, charts and every conversation as chat',
    )
    .argument('<path>', 'a JSONL file, or a folder of them (e.g. an export --out folder)')
    .option(
      '--port <port>',
      'port to serve the viewer on; 0 = any free port',
      wholeNumber(0, 65535),
      DEFAULTS.VIEW_PORT,
    )
    .addOption(
      new Option(
        '--host <host>',
        'interface to listen on (default: UI_HOST or 127.0.0.1; beyond loopback needs UI_TOKEN)',
      ),
    )
    .option(
      '--allow-host <host>',
      'also accept this host name in Host/Origin (repeatable; adds to UI_ALLOWED_HOSTS)',
      collect,
    )
    .action(async (path: string, flags: ViewFlags) => {
      const config = loadCliConfig(process.env);
      let readers: Awaited<ReturnType<typeof openDataset>>;
      try {
        readers = await openDataset(path);
      } catch (error) {
        if (error instanceof DatasetPathError) throw usageError('path', error.message);
        throw error;
      }
      const tty = process.stderr.isTTY;
      const index = await new DatasetIndex(readers).build((progress) => {
        if (tty) process.stderr.write(`\rindexing: ${plural(progress.rows, 'conversation')}`);
      });
      if (tty) process.stderr.write('\r\x1b[K');
      const summary = index.summary();
      const skipped = summary.files.reduce((n, f) => n + f.skipped, 0);
      process.stderr.write(
        `indexed ${plural(summary.conversations, 'conversation')} from ${plural(readers.length, 'file')} in ${(summary.indexMs / 1000).toFixed(1)} s` +
          (skipped
            ? `; ${plural(skipped, 'unreadable line')} skipped (${summary.files
                .filter((f) => f.skipped)
                .map((f) => `${f.path}: lines ${f.skippedLines.join(', ')}`)
                .join('; ')})`
            : '') +
          '\n',
      );
      const host = flags.host ?? config.ui.host;
      let server: Awaited<ReturnType<typeof startUiServer>>;
      try {
        server = await startUiServer({
          backend: datasetBackend(index, path),
          port: flags.port,
          host,
          token: config.ui.token,
          allowedHosts: [...config.ui.allowedHosts, ...(flags.allowHost ?? [])],
          hostVariable: flags.host ? '--host' : 'UI_HOST',
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw usageError(
            '--port',
            `port ${flags.port} is already in use (choose another, or 0 for any free port)`,
          );
        }
        throw error;
      }
      process.stdout.write(`chimera view: open ${server.url}\n`);
      if (config.ui.token) process.stdout.write('(the first visit needs ?token=<UI_TOKEN> appended, once)\n');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      for (const reader of readers) await reader.close();
    });
}
