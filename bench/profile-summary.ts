/**
 * Reads a `.cpuprofile` written by `node --cpu-prof` and prints where the CPU time went, by module group
 * (self time of the function on top of the stack) and the heaviest functions. For example:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/throughput.ts --variant=chimera-redis-kafka
 *   node --import tsx bench/profile-summary.ts /tmp/prof/CPU.*.cpuprofile
 *
 * (The largest file is the benchmark's main thread; the small one is the tsx loader's worker.)
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First matching rule names the group; order matters (our adapters before the libraries they call). */
const GROUPS: Array<[string, RegExp]> = [
  ['quality (src/quality)', /\/src\/quality\//],
  ['prompts (src/prompts)', /\/src\/prompts\//],
  ['simulated text (fake-provider/dialogue)', /\/src\/services\/fake-provider\//],
  [
    'persistence (persister, codec, snapshot store)',
    /\/src\/(actors\/persistence|persistence\/|services\/(redis|memory)\/snapshot)/,
  ],
  [
    'outbox relay, events, intake',
    /\/src\/(actors\/outbox-relay|records|events|intake\/|services\/(kafka|memory\/event-bus))/,
  ],
  [
    'resilience, providers, metrics',
    /\/src\/(resilience\/|services\/providers\/|services\/(redis|memory)\/rate-limiter|metrics)/,
  ],
  ['turn cache', /\/src\/services\/(redis|memory)\/turn-cache/],
  ['runtime, supervisor, other src', /\/src\//],
  ['xstate', /node_modules\/xstate\//],
  ['ioredis', /node_modules\/(ioredis|@ioredis|redis-errors|standard-as-callback|cluster-key-slot|denque)\//],
  ['kafkajs', /node_modules\/kafkajs\//],
  ['zod', /node_modules\/zod\//],
  ['prom-client', /node_modules\/(prom-client|tdigest|bintrees)\//],
  ['langgraph / langchain', /node_modules\/@langchain\//],
  ['other libraries', /node_modules\//],
  ['garbage collector', /^\(garbage collector\)$/],
  ['idle', /^\(idle\)$/],
  ['module loading (start-up)', /node:internal\/modules|tsx|esbuild/],
];

function groupOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  const key = url || functionName;
  for (const [name, pattern] of GROUPS) if (pattern.test(key)) return name;
  // Native frames (socket writes, JSON, regular expressions) and Node's own JavaScript.
  return url.startsWith('node:')
    ? 'node internals (streams, timers, sockets)'
    : 'native (JSON, syscalls, V8)';
}

export function summarise(profile: Profile, top = 25): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfTime = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    selfTime.set(id, (selfTime.get(id) ?? 0) + delta);
    total += delta;
  });
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, time] of selfTime) {
    const node = byId.get(id)!;
    const group = groupOf(node);
    groups.set(group, (groups.get(group) ?? 0) + time);
    const where = node.callFrame.url.replace(/^.*\/(node_modules|src|bench)\//, '$1/');
    const name = `${node.callFrame.functionName || '(anonymous)'} ${where}:${node.callFrame.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + time);
  }
  const lines = (entries: Map<string, number>, count: number) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, time]) => `${((time / total) * 100).toFixed(1).padStart(6)}%  ${name}`)
      .join('\n');
  return `self time by group (${(total / 1e6).toFixed(1)} s sampled)\n${lines(groups, GROUPS.length + 2)}\n\nheaviest functions (self time)\n${lines(functions, top)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: bench/profile-summary.ts <file.cpuprofile> [top]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  process.stdout.write(`${summarise(profile, Number(process.argv[3] ?? 25))}\n`);
}
