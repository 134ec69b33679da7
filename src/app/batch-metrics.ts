/**
 * Batch mode on `/metrics`: batches out by provider and state, requests gathered for the next batch, and
 * the latency of a batch from submission to its answers being distributed. Read from the batchers when
 * Prometheus scrapes.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { BatchOut } from '../batch/provider-batcher.js';
import type { BatchState } from '../services/ports.js';

export interface BatchMetricsSource {
  readonly provider: string;
  batchesOut(): BatchOut[];
  requestsWaiting(): number;
  /** True while an open breaker holds the next submission. */
  readonly heldByBreaker: boolean;
  /** Latencies measured since the last read, in ms; the reader empties it. */
  readonly latenciesMs: number[];
}

const STATES: readonly BatchState[] = [
  'in_progress',
  'ended',
  'failed',
  'expired',
  'cancelling',
  'cancelled',
];

/** Registers the batch metrics on `registry` for `batchers` (nothing when there are none). */
export function instrumentBatchers(registry: Registry, batchers: Iterable<BatchMetricsSource>): void {
  const list = [...batchers];
  if (list.length === 0) return;
  new Histogram({
    name: 'chimera_batch_latency_seconds',
    help: 'Time from a batch submission to its answers being distributed',
    labelNames: ['provider'],
    // Minutes to a day: the providers' batch window.
    buckets: [30, 60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400],
    registers: [registry],
    collect() {
      for (const batcher of list)
        for (const ms of batcher.latenciesMs.splice(0))
          this.observe({ provider: batcher.provider }, ms / 1000);
    },
  });
  new Gauge({
    name: 'chimera_batches',
    help: 'Batches out by provider and state',
    labelNames: ['provider', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const batcher of list) {
        const out = batcher.batchesOut();
        for (const state of STATES)
          this.set(
            { provider: batcher.provider, state },
            out.filter((batch) => batch.state === state).length,
          );
      }
    },
  });
  new Gauge({
    name: 'chimera_batch_requests_waiting',
    help: 'Requests gathered for the next batch, by provider',
    labelNames: ['provider'],
    registers: [registry],
    collect() {
      for (const batcher of list) this.set({ provider: batcher.provider }, batcher.requestsWaiting());
    },
  });
  new Gauge({
    name: 'chimera_batch_submission_held',
    help: '1 while an open breaker holds the next batch submission, by provider',
    labelNames: ['provider'],
    registers: [registry],
    collect() {
      for (const batcher of list) this.set({ provider: batcher.provider }, batcher.heldByBreaker ? 1 : 0);
    },
  });
}
