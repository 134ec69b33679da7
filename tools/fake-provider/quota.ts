/**
 * The fake server's own provider quota: requests and tokens per minute over a sliding 60-second window,
 * like the limits real providers enforce per organisation. Time comes from the caller (the server's
 * injected clock), so tests move it instead of waiting a minute.
 */

export interface QuotaLimits {
  /** Requests per minute; undefined means unlimited. */
  rpm?: number;
  /** Input plus output tokens per minute; undefined means unlimited. */
  tpm?: number;
}

export const QUOTA_WINDOW_MS = 60_000;

interface Entry {
  at: number;
  tokens: number;
}

export interface QuotaDecision {
  allowed: boolean;
  /** When refused: how long until the request would fit. */
  retryAfterMs: number;
  requestsRemaining?: number;
  tokensRemaining?: number;
  /** When the window has fully drained from now on. */
  resetAt: number;
}

export class SlidingWindowQuota {
  private entries: Entry[] = [];

  constructor(private limits: QuotaLimits = {}) {}

  setLimits(limits: QuotaLimits): void {
    this.limits = limits;
  }

  get enforced(): boolean {
    return this.limits.rpm !== undefined || this.limits.tpm !== undefined;
  }

  get current(): QuotaLimits {
    return { ...this.limits };
  }

  reset(): void {
    this.entries = [];
  }

  private prune(now: number): void {
    const from = now - QUOTA_WINDOW_MS;
    let drop = 0;
    while (drop < this.entries.length && this.entries[drop]!.at <= from) drop++;
    if (drop > 0) this.entries.splice(0, drop);
  }

  private usedTokens(): number {
    let sum = 0;
    for (const entry of this.entries) sum += entry.tokens;
    return sum;
  }

  /** Admits a request needing `tokens` (its input estimate) or says how long until it would fit. */
  admit(now: number, tokens: number): QuotaDecision {
    this.prune(now);
    const { rpm, tpm } = this.limits;
    const used = this.usedTokens();
    let wait = 0;
    if (rpm !== undefined && this.entries.length >= rpm) {
      const oldest = this.entries[this.entries.length - rpm]!;
      wait = Math.max(wait, oldest.at + QUOTA_WINDOW_MS - now);
    }
    if (tpm !== undefined && used + tokens > tpm) {
      // Tokens free up as old entries leave the window; find the first moment enough have left.
      let freed = 0;
      let until = QUOTA_WINDOW_MS;
      for (const entry of this.entries) {
        freed += entry.tokens;
        until = entry.at + QUOTA_WINDOW_MS - now;
        if (used - freed + tokens <= tpm) break;
      }
      wait = Math.max(wait, until);
    }
    const resetAt = (this.entries[this.entries.length - 1]?.at ?? now) + QUOTA_WINDOW_MS;
    if (wait > 0) {
      return {
        allowed: false,
        retryAfterMs: wait,
        requestsRemaining: rpm === undefined ? undefined : Math.max(0, rpm - this.entries.length),
        tokensRemaining: tpm === undefined ? undefined : Math.max(0, tpm - used),
        resetAt,
      };
    }
    this.entries.push({ at: now, tokens });
    return {
      allowed: true,
      retryAfterMs: 0,
      requestsRemaining: rpm === undefined ? undefined : Math.max(0, rpm - this.entries.length),
      tokensRemaining: tpm === undefined ? undefined : Math.max(0, tpm - used - tokens),
      resetAt: now + QUOTA_WINDOW_MS,
    };
  }

  /**
   * Adds the output tokens of the request admitted at `at` once they are known, to that request's own
   * entry: every entry is one request, so a separate entry would count as a second request against RPM.
   * Requests admitted since then sit after it, so it is found from the newest back; once it has left the
   * window its tokens are outside the window too.
   */
  addTokens(at: number, tokens: number): void {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i]!;
      if (entry.at === at) {
        entry.tokens += tokens;
        return;
      }
      if (entry.at < at) return;
    }
  }
}
