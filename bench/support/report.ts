/**
 * How every benchmark reports: one JSON line per figure on stdout as soon as it is measured (so a
 * long run can be followed, and `bench/run.ts` can collect the lines of child processes), and a
 * readable table at the end.
 */

export interface Figure {
  /** Which benchmark measured it, e.g. `throughput`. */
  bench: string;
  /** What was measured, e.g. `turns_per_s`. */
  metric: string;
  value: number;
  /** e.g. `turns/s`, `ms`, `MiB`, `%`. */
  unit: string;
  /** The variant measured, e.g. `chimera-redis-kafka`, `chimera-embedded`, `langgraph`. */
  variant?: string;
  /** The goal in words, when the figure has one, e.g. `>= 5000`. */
  goal?: string;
  /** Whether the goal was met. */
  pass?: boolean;
  /** Anything else worth keeping next to the figure (sizes, counts). */
  [detail: string]: unknown;
}

export const FIGURE_PREFIX = '{"bench":';

const measured: Figure[] = [];

/** Prints a figure as one JSON line and keeps it for the closing table. */
export function emit(figure: Figure): Figure {
  const rounded = { ...figure, value: round(figure.value) };
  measured.push(rounded);
  process.stdout.write(`${JSON.stringify(rounded)}\n`);
  return rounded;
}

/** Progress for humans goes to stderr, so stdout stays one figure per line. */
export function note(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function figures(): readonly Figure[] {
  return measured;
}

/** Parses a stdout line of a benchmark; undefined for anything that is not a figure. */
export function parseFigure(line: string): Figure | undefined {
  if (!line.startsWith(FIGURE_PREFIX)) return undefined;
  try {
    const value = JSON.parse(line) as Figure;
    return typeof value.metric === 'string' && typeof value.value === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Three significant decimals are plenty for throughput and memory, and keep the lines short. */
function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 1 ? 2 : 4;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A plain-text table of figures (bench, variant, metric, value, unit, goal, result). */
export function renderTable(list: readonly Figure[]): string {
  const header = ['bench', 'variant', 'metric', 'value', 'unit', 'goal', 'result'];
  const rows = list.map((f) => [
    f.bench,
    f.variant ?? '',
    // A figure of another process than the variant's own (the Redis server, the Kafka broker) says which.
    typeof f.process === 'string' ? `${f.metric} (${f.process})` : f.metric,
    String(f.value),
    f.unit,
    f.goal ?? '',
    f.pass === undefined ? '' : f.pass ? 'met' : 'MISSED',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * Prints the table of what this process measured, after the JSON lines (which `parseFigure` tells apart
 * from it). `BENCH_NO_TABLE=1` leaves it out: `bench/run.ts` sets it for its children and prints one
 * table of every figure instead.
 */
export function printTable(title: string, list: readonly Figure[] = measured): void {
  if (process.env.BENCH_NO_TABLE === '1') return;
  process.stdout.write(`\n${title}\n\n${renderTable(list)}\n`);
}
