/**
 * A record's quality metrics as flat numbers for the page: nested groups (`factors`) become dotted names
 * (`factors.termination`), anything that is not a finite number is left out.
 */
export function qualityFigures(quality: unknown): Record<string, number> | undefined {
  if (!quality || typeof quality !== 'object') return undefined;
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(quality)) {
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, n] of Object.entries(value)) {
        if (typeof n === 'number' && Number.isFinite(n)) out[`${key}.${inner}`] = n;
      }
    }
  }
  return out;
}
