/**
 * Benchmark sizes come from flags (`--conversations=2000`) or the environment (`BENCH_CONVERSATIONS=2000`),
 * flags first. `BENCH_QUICK=1` (or `--quick`) picks the small defaults, for a run of a minute or two.
 */

function flag(name: string): string | undefined {
  const prefix = `--${name}=`;
  const found = process.argv.find((arg) => arg.startsWith(prefix));
  if (found) return found.slice(prefix.length);
  return process.argv.includes(`--${name}`) ? 'true' : undefined;
}

function envName(name: string): string {
  return `BENCH_${name.replace(/-/g, '_').toUpperCase()}`;
}

/** A raw option: `--name=value`, then `BENCH_NAME`. */
export function option(name: string): string | undefined {
  const value = flag(name) ?? process.env[envName(name)];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** True when the quick sizes were asked for. */
export const quick = ['1', 'true', 'yes'].includes((option('quick') ?? '').toLowerCase());

/** A whole number option with a full-size and a quick default. */
export function intOption(name: string, full: number, quickValue = full): number {
  const raw = option(name);
  if (raw === undefined) return quick ? quickValue : full;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`--${name} / ${envName(name)}: expected a whole number, got "${raw}"`);
  }
  return value;
}

/** A comma-separated list option (which variants to run). */
export function listOption(name: string, all: readonly string[]): string[] {
  const raw = option(name);
  if (raw === undefined) return [...all];
  const chosen = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of chosen) {
    if (!all.includes(item)) throw new Error(`--${name}: unknown "${item}" (expected ${all.join(', ')})`);
  }
  return chosen;
}
