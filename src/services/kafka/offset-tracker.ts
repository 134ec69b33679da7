/**
 * Which offset of a partition may be committed when messages are acknowledged out of order: only the
 * position after the longest run of acknowledged messages from the oldest one still tracked. A topic
 * acked before an older one still in flight waits; committing past the older one would lose it in a crash.
 *
 * Every message read from Kafka is tracked from fetch to ack:
 * - `buffered`: waiting in the source's buffer;
 * - `delivered`: handed out by `next()`, not yet acked or released;
 * - `done`: acked, waiting for older ones before it can be committed;
 * - `dropped`: removed from the buffer by a rebalance; Kafka will fetch it again from the committed offset.
 */
type State = 'buffered' | 'delivered' | 'done' | 'dropped';

interface Entry {
  offset: bigint;
  state: State;
}

export class PartitionOffsets {
  /** Ascending by offset. */
  private readonly entries: Entry[] = [];
  /** The next offset to commit (one past the last done run), once one exists. */
  private committableOffset: bigint | undefined;
  private committedOffset: bigint | undefined;

  private find(offset: bigint): Entry | undefined {
    return this.entries.find((entry) => entry.offset === offset);
  }

  /**
   * Records a fetched message. False means this process already holds it (a refetch after a rebalance of
   * a message buffered, in flight or done): the caller ignores it.
   */
  track(offset: string): boolean {
    const value = BigInt(offset);
    if (this.committableOffset !== undefined && value < this.committableOffset) return false;
    const existing = this.find(value);
    if (existing) {
      if (existing.state !== 'dropped') return false;
      existing.state = 'buffered';
      return true;
    }
    const entry: Entry = { offset: value, state: 'buffered' };
    const index = this.entries.findIndex((other) => other.offset > value);
    if (index < 0) this.entries.push(entry);
    else this.entries.splice(index, 0, entry);
    return true;
  }

  deliver(offset: string): void {
    const entry = this.find(BigInt(offset));
    if (entry) entry.state = 'delivered';
  }

  /** A delivered message goes back to the buffer. False when it is no longer tracked. */
  release(offset: string): boolean {
    const entry = this.find(BigInt(offset));
    if (!entry) return false;
    entry.state = 'buffered';
    return true;
  }

  /** Marks a message acknowledged; returns the new committable offset when it moved. */
  done(offset: string): string | undefined {
    const entry = this.find(BigInt(offset));
    if (!entry) return undefined;
    entry.state = 'done';
    let moved = false;
    while (this.entries[0]?.state === 'done') {
      this.committableOffset = this.entries.shift()!.offset + 1n;
      moved = true;
    }
    return moved ? String(this.committableOffset) : undefined;
  }

  /** After a rebalance kept this partition: buffered messages are fetched again, so they become `dropped`. */
  dropBuffered(): void {
    for (const entry of this.entries) if (entry.state === 'buffered') entry.state = 'dropped';
  }

  /** The offset to commit when it is ahead of what was committed, else undefined. */
  pendingCommit(): string | undefined {
    if (this.committableOffset === undefined || this.committableOffset === this.committedOffset)
      return undefined;
    return String(this.committableOffset);
  }

  markCommitted(offset: string): void {
    const value = BigInt(offset);
    if (this.committedOffset === undefined || value > this.committedOffset) this.committedOffset = value;
  }

  /** Counts by state, for logs and tests. */
  counts(): Record<State, number> {
    const counts: Record<State, number> = { buffered: 0, delivered: 0, done: 0, dropped: 0 };
    for (const entry of this.entries) counts[entry.state] += 1;
    return counts;
  }
}

/** {@link PartitionOffsets} for every partition this consumer owns. */
export class OffsetTracker {
  private readonly partitions = new Map<number, PartitionOffsets>();

  partition(partition: number): PartitionOffsets | undefined {
    return this.partitions.get(partition);
  }

  /** The tracker of a partition, created on first use (a fetched message proves it is assigned). */
  ensure(partition: number): PartitionOffsets {
    let offsets = this.partitions.get(partition);
    if (!offsets) {
      offsets = new PartitionOffsets();
      this.partitions.set(partition, offsets);
    }
    return offsets;
  }

  /**
   * Applies a new assignment: partitions no longer assigned are forgotten (their new owner reads from the
   * committed offset); those kept mark their buffered messages dropped. Returns the revoked partitions.
   */
  reassign(assigned: readonly number[]): number[] {
    const keep = new Set(assigned);
    const revoked: number[] = [];
    for (const [partition, offsets] of this.partitions) {
      if (keep.has(partition)) offsets.dropBuffered();
      else {
        this.partitions.delete(partition);
        revoked.push(partition);
      }
    }
    return revoked;
  }

  /** Partitions with an offset to commit, as `[partition, offset]`. */
  pendingCommits(): Array<[number, string]> {
    const pending: Array<[number, string]> = [];
    for (const [partition, offsets] of this.partitions) {
      const offset = offsets.pendingCommit();
      if (offset !== undefined) pending.push([partition, offset]);
    }
    return pending;
  }
}
