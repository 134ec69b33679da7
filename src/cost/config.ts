/**
 * The cost settings of the configuration: `MAX_SPEND_USD` (the spending cap) and `PRICES_FILE` (prices on
 * top of the shipped table), parsed once at start-up like every other variable.
 */
import { ConfigError } from '../errors.js';
import { parseUsdToMicros } from './money.js';
import { BUILT_IN_PRICES } from './price-table.js';
import { buildPriceTable, type PriceTable, parsePriceFile, readPriceFile } from './prices.js';

export interface CostConfig {
  /**
   * The spending cap in micro-dollars: per deployment with Redis (shared by every daemon), per process in
   * embedded mode. Null: no cap. @default null (`MAX_SPEND_USD` unset)
   */
  maxSpendMicros: number | null;
  /** The user's price file, when `PRICES_FILE` is set. */
  pricesFile?: string;
  /** The shipped prices with `PRICES_FILE` on top. */
  prices: PriceTable;
}

let builtIn: ReturnType<typeof parsePriceFile> | undefined;

/** The shipped table, parsed and validated once. */
export function builtInPrices(): ReturnType<typeof parsePriceFile> {
  builtIn ??= parsePriceFile(BUILT_IN_PRICES, 'builtin', 'built-in price table');
  return builtIn;
}

/**
 * Parses `MAX_SPEND_USD` and reads `PRICES_FILE`.
 * @throws {ConfigError} naming the variable (and, for the file, the bad entry).
 */
export function costConfigFrom(env: { MAX_SPEND_USD?: string; PRICES_FILE?: string }): CostConfig {
  let maxSpendMicros: number | null = null;
  const cap = env.MAX_SPEND_USD?.trim();
  if (cap) {
    maxSpendMicros = parseUsdToMicros(cap);
    if (maxSpendMicros === null) {
      throw new ConfigError(
        'MAX_SPEND_USD',
        `expected a non-negative amount of US dollars with at most 6 decimals, e.g. 25 or 12.50 (got ${JSON.stringify(cap)})`,
      );
    }
  }
  const pricesFile = env.PRICES_FILE?.trim() || undefined;
  const prices = buildPriceTable(builtInPrices(), pricesFile ? readPriceFile(pricesFile) : []);
  return { maxSpendMicros, pricesFile, prices };
}
