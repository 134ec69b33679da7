import { describe, expect, it } from 'vitest';
import { formatUsd, microsToDecimal, microsToUsd, parseUsdToMicros } from '../../src/cost/money.js';

describe('money', () => {
  it('parses dollars as text or numbers into whole micro-dollars without float arithmetic', () => {
    expect(parseUsdToMicros('12.5')).toBe(12_500_000);
    expect(parseUsdToMicros(' 0.000001 ')).toBe(1);
    expect(parseUsdToMicros(0.1)).toBe(100_000);
    expect(parseUsdToMicros(0.29)).toBe(290_000); // 0.29 * 1e6 is 289999.99999999994 as a float
    expect(parseUsdToMicros('25')).toBe(25_000_000);
    expect(parseUsdToMicros('1.2500000')).toBe(1_250_000);
  });

  it('refuses negative, malformed or sub-micro amounts', () => {
    for (const bad of ['-1', '1e3', 'abc', '', '0.0000001', '1.', '.5', '9007199254.740992']) {
      expect(parseUsdToMicros(bad), bad).toBeNull();
    }
    expect(parseUsdToMicros(-0.5)).toBeNull();
    expect(parseUsdToMicros(Number.NaN)).toBeNull();
  });

  it('prints micros as an exact decimal and as a JSON number of dollars', () => {
    expect(microsToDecimal(5)).toBe('0.000005');
    expect(microsToDecimal(1_234_567)).toBe('1.234567');
    expect(microsToDecimal(-2_000_001)).toBe('-2.000001');
    expect(microsToUsd(7_950)).toBe(0.00795);
  });

  it('formats dollars for people, rounding half up once from the integer', () => {
    expect(formatUsd(12_345_678)).toBe('$12.35');
    expect(formatUsd(12_344_999)).toBe('$12.34');
    expect(formatUsd(1_005_000)).toBe('$1.01');
    expect(formatUsd(123_456)).toBe('$0.1235');
    expect(formatUsd(450)).toBe('$0.000450');
    expect(formatUsd(0)).toBe('$0.000000');
    expect(formatUsd(1_234_567_890_000)).toBe('$1,234,567.89');
    expect(formatUsd(2_500_000, { decimals: 0 })).toBe('$3');
    expect(formatUsd(-1_500_000)).toBe('-$1.50');
  });

  it('refuses amounts that are not whole micros', () => {
    expect(() => formatUsd(1.5)).toThrow(RangeError);
    expect(() => microsToDecimal(Number.MAX_SAFE_INTEGER + 2)).toThrow(RangeError);
  });
});
