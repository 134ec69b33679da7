/**
 * How big a fault run is: `FAULTS_SIZE=reduced` (CI: the whole suite within about six minutes on two
 * cores) or full (the default: the figures in docs/reliability.md).
 */
export type FaultsSize = 'full' | 'reduced';

export function faultsSize(env: NodeJS.ProcessEnv = process.env): FaultsSize {
  const value = (env.FAULTS_SIZE ?? 'full').trim().toLowerCase();
  if (value === 'full' || value === '') return 'full';
  if (value === 'reduced') return 'reduced';
  throw new Error(`FAULTS_SIZE: expected full or reduced (got ${JSON.stringify(env.FAULTS_SIZE)})`);
}

/** The value for the current size. */
export function bySize<T>(full: T, reduced: T): T {
  return faultsSize() === 'full' ? full : reduced;
}
