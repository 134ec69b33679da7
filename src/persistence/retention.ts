import { DEFAULTS } from '../defaults.js';

/** Finished records stay readable this long (`FINISHED_TTL_SECONDS`), in every snapshot store. */
export const DEFAULT_FINISHED_TTL_MS = DEFAULTS.FINISHED_TTL_SECONDS * 1000;

/** Both stores take whole milliseconds: Redis `PX` refuses anything else, and memory must match it. */
export function checkWholeMs(name: string, ms: number): void {
  if (!Number.isInteger(ms) || ms < 1)
    throw new RangeError(`${name} must be a positive whole number of ms, got ${ms}`);
}
