import { type BreakerReport, breakerReportSchema } from '../../events.js';
import type { BreakerStateStore } from '../ports.js';

/**
 * Breaker reports of one process (the embedded mode): nothing outlives the process, so every breaker of a
 * new process starts closed. Reports are kept as text, as in Redis, so both adapters hand back copies that
 * went through the same schema.
 */
export class MemoryBreakerStateStore implements BreakerStateStore {
  private readonly reports = new Map<string, string>();

  async write(provider: string, report: BreakerReport): Promise<void> {
    this.reports.set(provider, JSON.stringify(report));
  }

  async readAll(): Promise<Record<string, BreakerReport>> {
    const out: Record<string, BreakerReport> = {};
    for (const [provider, text] of this.reports) {
      const parsed = breakerReportSchema.safeParse(JSON.parse(text));
      if (parsed.success) out[provider] = parsed.data;
    }
    return out;
  }
}
