/**
 * `npm run bench`: every benchmark, one after another, each in a process of its own. Figures are printed
 * as JSON lines as they are measured, then one table of all of them. `BENCH_QUICK=1` (or `--quick`) runs
 * the small sizes; `--only=throughput,recovery` picks benchmarks.
 *
 *   throughput   orchestration turns/s on Redis and Kafka, embedded, and the LangGraph.js peer
 *   concurrency  10,000 conversations in flight at 5 s and 500 ms latency: admission rate, calls/s against the ideal, peak RSS
 *   rate-limit   three daemons sharing the Redis limiter against fake servers enforcing a quota
 *   recovery     time to adopt 100 in-flight conversations after SIGKILL of their daemon
 *   dedup        near-duplicate removal: recall against brute-force Jaccard, records/s on 100,000
 *   viewer       `chimera view` on 100,000 conversations: time to open, heap, filter and read times
 *   batch        2,000 conversations of 10 turns in batch mode: rounds, requests per batch, wall time, cost vs online, RSS
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runFigures } from './support/children.js';
import { infra } from './support/infra.js';
import { describeMachine } from './support/machine.js';
import { listOption, quick } from './support/options.js';
import { type Figure, note, renderTable } from './support/report.js';

const BENCHES = ['throughput', 'concurrency', 'rate-limit', 'recovery', 'dedup', 'viewer', 'batch'] as const;

const services = await infra();
const machine = await describeMachine(services.redisUrl);
process.stdout.write(`${JSON.stringify({ machine, quick })}\n`);
note(
  `${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, Redis ${machine.redis}, Kafka ${machine.kafka}, load ${machine.loadAverage}`,
);

const all: Figure[] = [];
const failed: string[] = [];
/** The 1-minute load average before each benchmark: above the core count, something else was running. */
const loads: string[] = [];
for (const bench of listOption('only', BENCHES)) {
  const file = fileURLToPath(new URL(`./${bench}.ts`, import.meta.url));
  loads.push(`${bench} ${loadavg()[0]!.toFixed(2)}`);
  note(`running ${bench} (load average ${loadavg()[0]!.toFixed(2)})`);
  try {
    all.push(...(await runFigures(file, quick ? ['--quick'] : [])));
  } catch (error) {
    failed.push(bench);
    note(`${bench} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const goals = all.filter((f) => f.pass !== undefined);
const met = goals.filter((f) => f.pass).length;
process.stdout.write(
  `\nChimera benchmarks${quick ? ' (quick sizes)' : ''}: ${machine.cpus} CPUs, ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, Redis ${machine.redis}, Kafka ${machine.kafka}\n\n${renderTable(all)}\n\ngoals met: ${met} of ${goals.length}${failed.length > 0 ? `; failed to run: ${failed.join(', ')}` : ''}\n1-minute load average before each benchmark (${machine.cpus} CPUs): ${loads.join(', ')}; after: ${loadavg()[0]!.toFixed(2)}\n`,
);
if (failed.length > 0) process.exitCode = 1;
