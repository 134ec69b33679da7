/**
 * One stop-reason vocabulary across providers, so quality checks need not know each SDK:
 * `end_turn`, `max_tokens`, `stop_sequence`, `refusal`, or the provider's own value in lower case.
 */
export function normalizeStopReason(reason: string | null | undefined): string {
  if (!reason) return 'unknown';
  switch (reason.toLowerCase()) {
    case 'end_turn':
    case 'stop':
      return 'end_turn';
    case 'max_tokens':
    case 'length':
      return 'max_tokens';
    case 'stop_sequence':
      return 'stop_sequence';
    case 'refusal':
    case 'content_filter':
    case 'safety':
    case 'recitation':
    case 'prohibited_content':
    case 'blocklist':
    case 'spii':
      return 'refusal';
    default:
      return reason.toLowerCase();
  }
}

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
