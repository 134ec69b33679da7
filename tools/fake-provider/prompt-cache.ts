import { estimateTokens } from '../../src/services/providers/simulated/dialogue.js';
import { hashString } from '../../src/services/providers/simulated/random.js';

/**
 * Anthropic-style prompt caching, simulated: a request's blocks up to a `cache_control` breakpoint form a
 * prefix that later requests read back when they start with the same blocks. Usage then splits input
 * into uncached, cache-read and cache-write tokens the way the Messages API reports them.
 */
export interface CacheUsage {
  inputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** Enough prefixes for many concurrent conversations; the oldest are forgotten first. */
const MAX_PREFIXES = 50_000;

export class PromptCacheSimulator {
  private readonly prefixes = new Map<number, number>();

  account(segments: ReadonlyArray<{ text: string; breakpoint: boolean }>): CacheUsage {
    const hashes: number[] = [];
    const tokens: number[] = [];
    let hash = 0x811c9dc5;
    let total = 0;
    for (const segment of segments) {
      hash = hashString(segment.text, hashString('\u0001', hash));
      total += estimateTokens(segment.text);
      hashes.push(hash);
      tokens.push(total);
    }
    let read = 0;
    for (let i = 0; i < hashes.length; i++) if (this.prefixes.has(hashes[i]!)) read = tokens[i]!;

    let lastBreakpoint = -1;
    segments.forEach((segment, index) => {
      if (segment.breakpoint) lastBreakpoint = index;
    });
    let write = 0;
    if (lastBreakpoint >= 0 && tokens[lastBreakpoint]! > read) write = tokens[lastBreakpoint]! - read;
    segments.forEach((segment, index) => {
      if (!segment.breakpoint) return;
      this.prefixes.delete(hashes[index]!);
      this.prefixes.set(hashes[index]!, tokens[index]!);
    });
    while (this.prefixes.size > MAX_PREFIXES) this.prefixes.delete(this.prefixes.keys().next().value!);
    return { inputTokens: Math.max(0, total - read - write), cacheReadTokens: read, cacheWriteTokens: write };
  }

  clear(): void {
    this.prefixes.clear();
  }
}
