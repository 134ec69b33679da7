import { type BatchIntent, type BatchStore, byAge, type StoredBatch } from '../ports.js';

/** What several in-process stores share, as daemons share one Redis. */
export interface MemoryBatchStorage {
  intents: Map<string, StoredBatch>;
  /** `${provider}\u0000${customId}` -> intent id */
  holders: Map<string, string>;
}

export function memoryBatchStorage(): MemoryBatchStorage {
  return { intents: new Map(), holders: new Map() };
}

const holderKey = (provider: string, customId: string) => `${provider}\u0000${customId}`;
const copy = (batch: StoredBatch): StoredBatch => structuredClone(batch);

/** The batches out in process memory: the embedded default, and the reference the Redis adapter is held to. */
export class InMemoryBatchStore implements BatchStore {
  constructor(private readonly storage: MemoryBatchStorage = memoryBatchStorage()) {}

  async recordIntent(intent: BatchIntent): Promise<{ refused: string[] }> {
    const refused: string[] = [];
    const accepted = intent.requests.filter((request) => {
      const held = this.storage.holders.has(holderKey(intent.provider, request.customId));
      if (held) refused.push(request.customId);
      return !held;
    });
    if (accepted.length === 0) return { refused };
    for (const request of accepted)
      this.storage.holders.set(holderKey(intent.provider, request.customId), intent.intentId);
    this.storage.intents.set(intent.intentId, {
      intentId: intent.intentId,
      provider: intent.provider,
      requests: structuredClone(accepted),
      batchId: null,
      owner: intent.owner,
      createdAt: intent.at,
      submittedAt: null,
      leaseUntil: intent.at + intent.leaseMs,
    });
    return { refused };
  }

  async recordSubmitted(intentId: string, _provider: string, batchId: string, at: number): Promise<void> {
    const batch = this.storage.intents.get(intentId);
    if (!batch) return;
    batch.batchId = batchId;
    batch.submittedAt = at;
  }

  async release(intentId: string, provider: string): Promise<void> {
    const batch = this.storage.intents.get(intentId);
    if (!batch || batch.provider !== provider) return;
    this.storage.intents.delete(intentId);
    for (const request of batch.requests) {
      const key = holderKey(provider, request.customId);
      if (this.storage.holders.get(key) === intentId) this.storage.holders.delete(key);
    }
  }

  async holderOf(provider: string, customId: string): Promise<StoredBatch | null> {
    const intentId = this.storage.holders.get(holderKey(provider, customId));
    const batch = intentId === undefined ? undefined : this.storage.intents.get(intentId);
    return batch ? copy(batch) : null;
  }

  async list(provider: string): Promise<StoredBatch[]> {
    return [...this.storage.intents.values()]
      .filter((batch) => batch.provider === provider)
      .sort(byAge)
      .map(copy);
  }

  async renew(provider: string, owner: string, now: number, leaseMs: number): Promise<void> {
    for (const batch of this.storage.intents.values())
      if (batch.provider === provider && batch.owner === owner) batch.leaseUntil = now + leaseMs;
  }

  async adopt(provider: string, owner: string, now: number, leaseMs: number): Promise<StoredBatch[]> {
    const adopted: StoredBatch[] = [];
    for (const batch of this.storage.intents.values()) {
      if (batch.provider !== provider || batch.leaseUntil >= now) continue;
      batch.owner = owner;
      batch.leaseUntil = now + leaseMs;
      adopted.push(copy(batch));
    }
    return adopted.sort(byAge);
  }
}
