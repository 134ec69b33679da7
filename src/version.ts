import { readFileSync } from 'node:fs';

/**
 * The version in Chimera's package.json, read once. The file sits one level above this module both in the
 * source tree (`src/`) and in the build (`dist/`).
 */
export const CHIMERA_VERSION: string = readVersion();

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    // A bundled or relocated build without its package.json still runs; its records say so.
    return 'unknown';
  }
}
