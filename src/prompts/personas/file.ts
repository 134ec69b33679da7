/**
 * A personas file (`PERSONAS_FILE`, `--personas FILE`) adds to or replaces the built-in pool. JSON:
 *
 *     {
 *       "replace": false,
 *       "questioners": [{ "id": "grumpy-critic", "prompt": "You are ..." }],
 *       "answerers":   [{ "id": "...", "prompt": "..." }],
 *       "styles":      [{ "id": "...", "prompt": "..." }]
 *     }
 *
 * Every list is optional. Without `replace` an entry whose id is already in the pool replaces that entry
 * and any other entry is added; with `"replace": true` each list given replaces the built-in list of its
 * kind whole (lists not given stay built-in). The file is checked whole before anything runs: a bad entry
 * stops start-up with one line naming the file, the entry and what is wrong. Reading the file is
 * `src/personas-file.ts`'s job; this module only parses and applies its text (pure).
 */
import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import type { ConversationStyle, Persona, PersonaPool } from './types.js';

/** A personas file larger than this is refused before it is read: a pool is prompts, not a corpus. */
export const MAX_PERSONAS_FILE_BYTES = 1024 * 1024;
/** Entries per list at most. */
export const MAX_ENTRIES = 1000;
/** Characters of one prompt at most: a long system prompt, well under any provider's context. */
export const MAX_PROMPT_LENGTH = 8000;

export const PERSONA_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

const entrySchema = z
  .object({
    id: z.string().regex(PERSONA_ID_PATTERN, {
      error: 'id must be 1-64 characters of lower-case letters, digits and hyphens',
    }),
    prompt: z
      .string()
      .refine((v) => v.trim() !== '', { error: 'prompt must not be blank' })
      .refine((v) => v.length <= MAX_PROMPT_LENGTH, {
        error: `prompt must be at most ${MAX_PROMPT_LENGTH} characters`,
      }),
  })
  .strict();

const listSchema = z.array(z.unknown()).max(MAX_ENTRIES, { error: `at most ${MAX_ENTRIES} entries` });

const fileSchema = z
  .object({
    replace: z.boolean().optional(),
    questioners: listSchema.optional(),
    answerers: listSchema.optional(),
    styles: listSchema.optional(),
  })
  .strict();

type ListName = 'questioners' | 'answerers' | 'styles';
const LISTS: readonly ListName[] = ['questioners', 'answerers', 'styles'];

export function fail(where: string, message: string): never {
  throw new ConfigError('PERSONAS_FILE', `${where}: ${message}`);
}

function idOf(raw: unknown): string {
  const id = raw !== null && typeof raw === 'object' ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'string'
    ? ` (id ${JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}...` : id)})`
    : '';
}

function entries(name: string, list: ListName, raw: readonly unknown[]): Persona[] {
  const seen = new Set<string>();
  return raw.map((item, index) => {
    const where = `${name} ${list}[${index}]${idOf(item)}`;
    const parsed = entrySchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.length > 0 && issue.code !== 'custom' ? `${issue.path.join('.')}: ` : '';
      fail(where, `${field}${issue.message}`);
    }
    if (seen.has(parsed.data.id)) fail(where, `id appears twice in ${list}`);
    seen.add(parsed.data.id);
    return { id: parsed.data.id, prompt: parsed.data.prompt.trim() };
  });
}

function merge<T extends Persona | ConversationStyle>(base: readonly T[], extra: readonly T[]): T[] {
  const byId = new Map(base.map((entry) => [entry.id, entry]));
  for (const entry of extra) byId.set(entry.id, entry);
  return [...byId.values()];
}

/**
 * Applies the JSON text of a personas file to `base`.
 * @throws {ConfigError} `PERSONAS_FILE: <name> <list>[<i>] (id "<id>"): <what is wrong>`.
 */
export function applyPersonasText(text: string, name: string, base: PersonaPool): PersonaPool {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The parser's message quotes the text, which may be a long prompt: the file name is enough.
    fail(name, 'not valid JSON');
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    fail(name, `${path}${issue.message}`);
  }
  const file = parsed.data;
  const pool: Record<ListName, readonly Persona[]> = {
    questioners: base.questioners,
    answerers: base.answerers,
    styles: base.styles,
  };
  for (const list of LISTS) {
    const raw = file[list];
    if (raw === undefined) continue;
    const given = entries(name, list, raw);
    pool[list] = file.replace ? given : merge(pool[list], given);
    if (pool[list].length === 0) fail(name, `${list}: the pool would be empty (give at least one entry)`);
  }
  return { questioners: pool.questioners, answerers: pool.answerers, styles: pool.styles };
}
