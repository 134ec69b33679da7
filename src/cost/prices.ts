/**
 * Price tables: the one shipped in `price-table.ts` and the user's `PRICES_FILE`, in one format,
 * validated by one zod schema, parsed into exact integer rates (picodollars per token).
 *
 * Format (JSON; prices in US dollars per million tokens, as the providers publish them):
 *
 *   { "version": 1,
 *     "models": {
 *       "anthropic/claude-sonnet-5-5": { "input": 2, "output": 10, "cacheWrite": 2.5, "cacheRead": 0.1,
 *                                        "batchDiscountPercent": 50, "source": "https://...", "checked": "2026-11-20" },
 *       "openai/*": { "input": 0.05, "output": 0.1 } } }
 *
 * A key is `provider/model`; `provider/*` prices every other model of that provider. `cacheWrite` and
 * `cacheRead` default to `input` (no cache discount or surcharge); `tiers` price a whole request at other
 * rates when its prompt (input + cache read + cache write tokens) is above `abovePromptTokens`.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseScaledDecimal } from './money.js';

/** The format version this code reads. */
export const PRICE_FILE_VERSION = 1;

/** Prices are exact to this many decimals of a dollar per million tokens (one picodollar per token). */
const PRICE_DECIMALS = 6;

const priceValue = z
  .union([z.number(), z.string()])
  .refine((v) => parseScaledDecimal(v, PRICE_DECIMALS) !== null, {
    error: `expected a non-negative number of dollars per million tokens with at most ${PRICE_DECIMALS} decimals`,
  });

const rateFields = {
  /** Uncached input tokens. */
  input: priceValue,
  /** Output tokens (thinking tokens included, as every provider bills them). */
  output: priceValue,
  /** Tokens written to the prompt cache (Anthropic's 5-minute cache write). @default input */
  cacheWrite: priceValue.optional(),
  /** Tokens read from the prompt cache. @default input */
  cacheRead: priceValue.optional(),
};

const tierSchema = z
  .object({
    /** The tier applies to a request whose prompt has more tokens than this. */
    abovePromptTokens: z.number().int().positive(),
    ...rateFields,
  })
  .strict();

export const modelPriceSchema = z
  .object({
    ...rateFields,
    /** Discount of the provider's batch API on every token price, in percent. @default 0 */
    batchDiscountPercent: z
      .union([z.number(), z.string()])
      .refine(
        (v) => {
          const bps = parseScaledDecimal(v, 2);
          return bps !== null && bps <= 10_000n;
        },
        { error: 'expected a percentage from 0 to 100 with at most 2 decimals' },
      )
      .optional(),
    tiers: z.array(tierSchema).max(8).optional(),
    /** Other names the provider reports for this model (dated snapshots). */
    aliases: z.array(z.string().min(1)).max(32).optional(),
    /** Where the figures come from. */
    source: z.string().optional(),
    /** When they were read there (YYYY-MM-DD). */
    checked: z.string().optional(),
    note: z.string().optional(),
  })
  .strict();

const KEY = /^[a-z0-9-]+\/(\*|[^\s*]+)$/;

export const priceFileSchema = z
  .object({
    version: z.literal(PRICE_FILE_VERSION, { error: `expected version ${PRICE_FILE_VERSION}` }),
    checked: z.string().optional(),
    sources: z.array(z.string()).optional(),
    models: z.record(z.string(), modelPriceSchema),
  })
  .strict();

export type PriceFile = z.input<typeof priceFileSchema>;
export type ModelPriceInput = z.input<typeof modelPriceSchema>;

/** Rates in whole picodollars per token. */
export interface Rates {
  input: bigint;
  output: bigint;
  cacheWrite: bigint;
  cacheRead: bigint;
}

export interface ModelPrice {
  /** `provider/model` as written in the table. */
  key: string;
  rates: Rates;
  /** Ascending by threshold. */
  tiers: Array<{ abovePromptTokens: number; rates: Rates }>;
  /** Batch discount in basis points (50% = 5000). */
  batchDiscountBps: bigint;
  /** `builtin` for the shipped table, `file` for PRICES_FILE. */
  origin: 'builtin' | 'file';
  source?: string;
  checked?: string;
}

export interface PriceTable {
  /** Entries by key, later origins (the user's file) replacing earlier ones. */
  readonly entries: ReadonlyMap<string, ModelPrice>;
}

function pico(value: string | number): bigint {
  return parseScaledDecimal(value, PRICE_DECIMALS)!;
}

function ratesOf(raw: {
  input: string | number;
  output: string | number;
  cacheWrite?: string | number;
  cacheRead?: string | number;
}): Rates {
  const input = pico(raw.input);
  return {
    input,
    output: pico(raw.output),
    cacheWrite: raw.cacheWrite === undefined ? input : pico(raw.cacheWrite),
    cacheRead: raw.cacheRead === undefined ? input : pico(raw.cacheRead),
  };
}

/** The first problem of a parse, as `entry "key": field: message`. */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const [top, key, ...rest] = issue.path.map(String);
  if (top === 'models' && key !== undefined) {
    const field = rest.length > 0 ? `${rest.join('.')}: ` : '';
    return `entry "${key}": ${field}${issue.message}`;
  }
  return `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`;
}

/**
 * Validates a price file's content and turns it into exact rates.
 * @throws {ConfigError} naming `variable` and the first bad entry.
 */
export function parsePriceFile(
  content: unknown,
  origin: ModelPrice['origin'],
  variable = 'PRICES_FILE',
): ModelPrice[] {
  const parsed = priceFileSchema.safeParse(content);
  if (!parsed.success) throw new ConfigError(variable, describeIssue(parsed.error));
  const prices: ModelPrice[] = [];
  for (const [key, raw] of Object.entries(parsed.data.models)) {
    if (!KEY.test(key)) {
      throw new ConfigError(
        variable,
        `entry "${key}": expected a key of the form provider/model or provider/*`,
      );
    }
    const tiers = (raw.tiers ?? [])
      .map((tier) => ({ abovePromptTokens: tier.abovePromptTokens, rates: ratesOf(tier) }))
      .sort((a, b) => a.abovePromptTokens - b.abovePromptTokens);
    prices.push({
      key,
      rates: ratesOf(raw),
      tiers,
      batchDiscountBps: parseScaledDecimal(raw.batchDiscountPercent ?? 0, 2)!,
      origin,
      source: raw.source,
      checked: raw.checked ?? parsed.data.checked,
    });
    for (const alias of raw.aliases ?? []) {
      const provider = key.slice(0, key.indexOf('/'));
      prices.push({ ...prices.at(-1)!, key: `${provider}/${alias}` });
    }
  }
  return prices;
}

/** A table from the built-in entries, with the user's entries on top. */
export function buildPriceTable(...layers: ModelPrice[][]): PriceTable {
  const entries = new Map<string, ModelPrice>();
  for (const layer of layers) for (const price of layer) entries.set(price.key, price);
  return { entries };
}

/**
 * Reads and validates `PRICES_FILE`.
 * @throws {ConfigError} `PRICES_FILE: ...` when it cannot be read, is not JSON, or has a bad entry.
 */
export function readPriceFile(path: string, variable = 'PRICES_FILE'): ModelPrice[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code ?? error);
    throw new ConfigError(variable, `cannot read ${path}: ${reason}`);
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(variable, `${path} is not JSON: ${(error as Error).message}`);
  }
  return parsePriceFile(content, 'file', variable);
}
