/**
 * Reads the personas file (`PERSONAS_FILE`, `--personas FILE`) for the config: the I/O half of
 * `prompts/personas/file.ts`, which parses and applies the text.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { applyPersonasText, fail, MAX_PERSONAS_FILE_BYTES } from './prompts/personas/file.js';
import type { PersonaPool } from './prompts/personas/types.js';

/**
 * Reads a personas file and applies it to `base`; the size is checked before the file is read.
 * @throws {ConfigError} naming `PERSONAS_FILE` when it cannot be read, is too large or holds a bad entry.
 */
export function loadPersonasFile(path: string, base: PersonaPool): PersonaPool {
  let text: string;
  try {
    const { size } = statSync(path);
    if (size > MAX_PERSONAS_FILE_BYTES) {
      fail(path, `the file is ${size} bytes, more than the ${MAX_PERSONAS_FILE_BYTES} allowed`);
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    fail(path, `cannot read the file (${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')})`);
  }
  return applyPersonasText(text, path, base);
}
