import { DEFAULTS } from '../../defaults.js';
import type { IntakeFailureOptions } from '../../intake/intake-guard.js';
import type { ParkedMessage, ParkedMessages, StoredParkedMessage } from '../ports.js';

/** The embedded parking place: the newest `maxLength` messages, in this process only. */
export class InMemoryParkedMessages implements ParkedMessages {
  private readonly entries: StoredParkedMessage[] = [];
  private seq = 0;

  constructor(private readonly maxLength: number) {}

  async park(message: ParkedMessage): Promise<void> {
    this.seq += 1;
    this.entries.push({ ...message, value: Buffer.from(message.value), id: `${message.at}-${this.seq}` });
    if (this.entries.length > this.maxLength) this.entries.splice(0, this.entries.length - this.maxLength);
  }

  async read(limit: number, afterId?: string): Promise<StoredParkedMessage[]> {
    const start = afterId === undefined ? 0 : this.entries.findIndex((e) => e.id === afterId) + 1;
    return this.entries.slice(start, start + Math.max(0, limit)).map((e) => ({ ...e }));
  }

  async size(): Promise<number> {
    return this.entries.length;
  }
}

/** Intake failure handling for a source built without any: parked in this process, default attempts. */
export function defaultIntakeFailures(): IntakeFailureOptions {
  return {
    parked: new InMemoryParkedMessages(DEFAULTS.PARKED_MAX_LENGTH),
    maxAttempts: DEFAULTS.INTAKE_MAX_ATTEMPTS,
  };
}
