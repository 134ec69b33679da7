import { describe, expect, it } from 'vitest';
import { OffsetTracker, PartitionOffsets } from '../../src/services/kafka/offset-tracker.js';

function tracked(...offsets: number[]): PartitionOffsets {
  const partition = new PartitionOffsets();
  for (const offset of offsets) partition.track(String(offset));
  return partition;
}

describe('offset tracking for out-of-order acks', () => {
  it('acks in order move the commit point one past the last acked message', () => {
    const partition = tracked(0, 1, 2);
    expect(partition.done('0')).toBe('1');
    expect(partition.done('1')).toBe('2');
    expect(partition.pendingCommit()).toBe('2');
  });

  it('an ack ahead of an older message in flight commits nothing until the older one is acked', () => {
    const partition = tracked(5, 6, 7);
    expect(partition.done('7')).toBeUndefined();
    expect(partition.done('6')).toBeUndefined();
    expect(partition.pendingCommit()).toBeUndefined();
    expect(partition.done('5')).toBe('8');
  });

  it('gaps in offsets (compacted or control records) do not block commits', () => {
    const partition = tracked(10, 13);
    partition.done('10');
    expect(partition.done('13')).toBe('14');
  });

  it('a refetch of a message already held is refused, one dropped by a rebalance is taken again', () => {
    const partition = tracked(0, 1, 2);
    partition.deliver('0');
    partition.done('1');
    partition.dropBuffered(); // 2 was only buffered
    expect(partition.track('0')).toBe(false);
    expect(partition.track('1')).toBe(false);
    expect(partition.track('2')).toBe(true);
    expect(partition.track('2')).toBe(false);
  });

  it('messages below the commit point are refused as already done', () => {
    const partition = tracked(0, 1);
    partition.done('0');
    partition.done('1');
    expect(partition.track('1')).toBe(false);
    expect(partition.track('2')).toBe(true);
  });

  it('a released message blocks commits until it is acked', () => {
    const partition = tracked(0, 1);
    partition.deliver('0');
    expect(partition.release('0')).toBe(true);
    expect(partition.done('1')).toBeUndefined();
    expect(partition.done('0')).toBe('2');
  });

  it('a commit is pending until marked committed', () => {
    const partition = tracked(0);
    partition.done('0');
    expect(partition.pendingCommit()).toBe('1');
    partition.markCommitted('1');
    expect(partition.pendingCommit()).toBeUndefined();
  });

  it('a reassignment forgets revoked partitions and keeps the others with their buffered messages dropped', () => {
    const tracker = new OffsetTracker();
    tracker.ensure(0).track('0');
    tracker.ensure(1).track('0');
    tracker.ensure(2).track('0');
    tracker.ensure(2).done('0');

    expect(tracker.reassign([0, 2])).toEqual([1]);
    expect(tracker.partition(1)).toBeUndefined();
    expect(tracker.partition(0)?.counts()).toMatchObject({ dropped: 1, buffered: 0 });
    expect(tracker.pendingCommits()).toEqual([[2, '1']]);
  });
});
