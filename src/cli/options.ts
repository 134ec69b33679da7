/**
 * Parsers for flag values. Commander calls them while parsing and turns an `InvalidArgumentError` into one
 * line naming the flag and the value (`option '--conversations <n>' argument '0' is invalid. ...`), which
 * `main` prints with exit code 2.
 */
import { InvalidArgumentError } from 'commander';

/** A whole number within [min, max]. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const trimmed = value.trim();
    const n = Number(trimmed);
    if (!/^-?\d+$/.test(trimmed) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/** A quality score threshold in [0, 1]. */
export function score(value: string): number {
  const trimmed = value.trim();
  const n = Number(trimmed);
  if (!/^\d*\.?\d+$/.test(trimmed) || n < 0 || n > 1) {
    throw new InvalidArgumentError('expected a number from 0 to 1');
  }
  return n;
}

/** A judge score: a number from 1 to 5 (`--min-judge-score`). */
export function judgeScore(value: string): number {
  const trimmed = value.trim();
  const n = Number(trimmed);
  if (!/^\d*\.?\d+$/.test(trimmed) || n < 1 || n > 5) {
    throw new InvalidArgumentError('expected a number from 1 to 5');
  }
  return n;
}

/** A non-blank string, kept as given. */
export function nonBlank(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a non-empty value');
  return value;
}

/** Repeatable flag: every occurrence is kept, in order. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
