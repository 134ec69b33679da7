/**
 * A FIFO that a consumer pulls from with a timeout: `take(waitMs)` resolves with the next item as soon as
 * one is pushed, or null when the wait ends or the buffer closes. `unshift` puts an item back at the head
 * (a released topic is the next one out).
 */
export class PullBuffer<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(item: T | null) => void> = [];
  private closed = false;

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  unshift(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.unshift(item);
  }

  /** Removes and returns every buffered item matching `predicate`. */
  remove(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (let i = this.items.length - 1; i >= 0; i -= 1) {
      if (predicate(this.items[i]!)) removed.unshift(...this.items.splice(i, 1));
    }
    return removed;
  }

  take(waitMs: number): Promise<T | null> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    if (this.closed || waitMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter = (item: T | null) => {
        clearTimeout(timer);
        resolve(item);
      };
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        resolve(null);
      }, waitMs);
      this.waiters.push(waiter);
    });
  }

  /** Wakes every waiter with null; later takes return what is left, then null without waiting. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter(null);
  }
}
