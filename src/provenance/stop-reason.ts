import { normalizeStopReason } from '../services/providers/options.js';

/**
 * Whether a turn was cut off at the token limit. Each SDK says so in its own words (Anthropic
 * `max_tokens`, Gemini `MAX_TOKENS`, OpenAI-compatible servers `length`); the adapters normalise them to
 * `max_tokens` (`normalizeStopReason`), and a raw value is normalised here too, so either form counts.
 */
export function isTruncated(stopReason: string | null | undefined): boolean {
  return normalizeStopReason(stopReason) === 'max_tokens';
}

/** The stop reason as a record carries it: the one vocabulary across providers. */
export function recordedStopReason(stopReason: string | null | undefined): string {
  return normalizeStopReason(stopReason);
}
