/**
 * Money as integers. A cost is a whole number of micro-dollars (1 USD = 1,000,000 micros); prices are
 * whole picodollars per token (1 USD per million tokens = 1,000,000 picodollars per token), so every
 * published price with up to six decimals per million tokens is exact. Amounts never pass through a
 * float sum: decimal text is parsed digit by digit, and only display divides.
 */

/** Micro-dollars in one US dollar. */
export const MICROS_PER_USD = 1_000_000;
/** Picodollars in one micro-dollar. */
export const PICOS_PER_MICRO = 1_000_000;

/** Largest amount of micros handled exactly by a JS number (about 9 billion dollars). */
const MAX_MICROS = Number.MAX_SAFE_INTEGER;

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a non-negative decimal (text, or a number written the way JSON writes it) into an integer scaled
 * by 10^`places`. Returns null when it is negative, not a plain decimal, or has more than `places` decimals.
 */
export function parseScaledDecimal(value: string | number, places: number): bigint | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return null;
    // The shortest text that reads back as the same double: what the user wrote for any sane price.
    text = String(value);
    if (/e/i.test(text))
      text = value
        .toFixed(places + 1)
        .replace(/0+$/, '')
        .replace(/\.$/, '');
  } else {
    text = value.trim();
  }
  const match = DECIMAL.exec(text);
  if (!match) return null;
  const fraction = match[2] ?? '';
  if (fraction.length > places) {
    // Trailing zeros beyond the precision are harmless ("0.1000000").
    if (!/^0*$/.test(fraction.slice(places))) return null;
  }
  const digits = `${match[1]}${fraction.slice(0, places).padEnd(places, '0')}`;
  return BigInt(digits);
}

/**
 * US dollars as text or a number ("12.5", 12.5) to whole micro-dollars.
 * @returns null when it is negative, malformed, finer than a micro-dollar or too large.
 */
export function parseUsdToMicros(value: string | number): number | null {
  const scaled = parseScaledDecimal(value, 6);
  if (scaled === null || scaled > BigInt(MAX_MICROS)) return null;
  return Number(scaled);
}

/** Whole micros as an exact decimal dollar string: 1234567 -> "1.234567", 5 -> "0.000005". */
export function microsToDecimal(micros: number): string {
  assertMicros(micros);
  const negative = micros < 0;
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / MICROS_PER_USD);
  const fraction = String(abs % MICROS_PER_USD).padStart(6, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/** Micros as a JSON number of dollars (one division of an exact integer: the closest double to the true value). */
export function microsToUsd(micros: number): number {
  assertMicros(micros);
  return micros / MICROS_PER_USD;
}

/**
 * Dollars for people, rounded half up from the exact integer: cents from one dollar up ("$12.35"), four
 * decimals from a cent ("$0.0123"), six below ("$0.000450"), so a small run never reads "$0.00".
 */
export function formatUsd(micros: number, options: { decimals?: number } = {}): string {
  assertMicros(micros);
  const abs = Math.abs(micros);
  const decimals = options.decimals ?? (abs >= MICROS_PER_USD ? 2 : abs >= 10_000 ? 4 : 6);
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 6) {
    throw new RangeError(`decimals must be a whole number from 0 to 6 (got ${decimals})`);
  }
  const unit = 10 ** (6 - decimals);
  const rounded = Math.floor((abs + Math.floor(unit / 2)) / unit) * unit;
  const text = microsToDecimal(rounded);
  const [whole, fraction] = text.split('.') as [string, string];
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const shown = decimals === 0 ? grouped : `${grouped}.${fraction.slice(0, decimals)}`;
  return `${micros < 0 ? '-' : ''}$${shown}`;
}

/** A whole, safe number of micros (negative only where a difference is meant). */
export function assertMicros(micros: number, name = 'amount'): void {
  if (!Number.isSafeInteger(micros)) {
    throw new RangeError(`${name} must be a whole number of micro-dollars (got ${micros})`);
  }
}

/** A whole, safe, non-negative number of micros. */
export function assertNonNegativeMicros(micros: number, name = 'amount'): void {
  assertMicros(micros, name);
  if (micros < 0) throw new RangeError(`${name} must not be negative (got ${micros})`);
}

/** Integer division of non-negative big integers, rounded up. */
export function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}
