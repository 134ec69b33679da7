import type { Command } from 'commander';

/** `chimera run`: the daemon. A first version; the full wiring follows. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the daemon: take topics from Kafka or Redis, hold conversations, publish events')
    .option('--provider <name>', 'use this provider for both sides (e.g. simulated)')
    .option('--inspect', 'attach the Stately inspector')
    .option('--inspect-port <port>', 'WebSocket port of the Stately inspector')
    .option('--http-port <port>', 'port of the health and metrics server (0 = any free port)')
    .option('--drain-timeout <seconds>', 'how long SIGTERM waits for in-flight conversations')
    .action(async () => {
      process.stderr.write('chimera: run is not wired yet\n');
      process.exitCode = 1;
    });
}
