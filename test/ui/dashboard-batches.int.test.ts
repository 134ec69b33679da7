/**
 * The dashboard of a daemon in batch mode shows the batches it has out: a real `chimera run --batch`
 * on real Redis with the simulated provider's batch API (each batch answered after a delay), its live
 * summary read over HTTP while the batches wait.
 */
import { describe, expect, inject, it } from 'vitest';
import { startDaemon } from '../cli/run-process.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { runCli } from '../support/cli.js';
import { deleteKeys, uniqueNames } from '../support/infra.js';

const cleanups = cleanupsAfterEach();

interface Summary {
  batches?: { outstanding: number; requestsOutstanding?: number; completed?: number };
}

describe('the dashboard in batch mode', () => {
  it('shows the batches out and the requests they carry while they wait, and the batches done after', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const env = {
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: names.env.REDIS_KEY_PREFIX,
      REDIS_TOPIC_QUEUE: names.env.REDIS_TOPIC_QUEUE,
      SIMULATED_BATCH_DELAY_MS: '4000',
      BATCH_COLLECT_SECONDS: '1',
      BATCH_POLL_SECONDS: '1',
      MAX_CONVERSATION_TURNS: '2',
      MIN_CONVERSATION_TURNS: '2',
    };
    const daemon = startDaemon(
      ['--provider', 'simulated', '--batch', '--http-port', '0', '--ui-port', '0'],
      env,
    );
    cleanups.add(async () => {
      daemon.child.kill('SIGTERM');
      await daemon.exitWithin(30_000);
    });
    const started = await daemon.waitForLog((l) => typeof l.dashboardUrl === 'string', 'the dashboard URL');
    const url = new URL(started.dashboardUrl as string);
    // The page's live stream, as a browser tab holds it open (the daemon samples its services while
    // someone watches): its latest `summary` event is what the page shows.
    const abort = new AbortController();
    cleanups.add(async () => abort.abort());
    const stream = await fetch(new URL('/api/stream', url), { signal: abort.signal });
    expect(stream.status).toBe(200);
    let latest: Summary = {};
    void (async () => {
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let end = buffered.indexOf('\n\n');
        while (end >= 0) {
          const message = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const data = /^data: (.*)$/m.exec(message)?.[1];
          if (message.startsWith('event: summary') && data) latest = JSON.parse(data) as Summary;
          end = buffered.indexOf('\n\n');
        }
      }
    })().catch(() => {});
    const summary = async (): Promise<Summary> => latest;

    const titles = ['Tidal lagoons', 'Offshore wind', 'Wave energy'];
    for (const title of titles) {
      const added = await runCli(['topics', 'add', title], { env });
      expect(added.code, added.stderr).toBe(0);
    }

    // The first turn of the three conversations travels in a batch that waits four seconds.
    let seen: Summary['batches'];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      seen = (await summary()).batches;
      if (seen && seen.outstanding > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(seen?.outstanding).toBeGreaterThan(0);
    // The requests of the first turn round (one per conversation, those collected so far).
    expect(seen?.requestsOutstanding).toBeGreaterThanOrEqual(seen!.outstanding);
    expect(seen?.requestsOutstanding).toBeLessThanOrEqual(titles.length);

    // Two turns each: two batches answered, none left out.
    let done: Summary['batches'];
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      done = (await summary()).batches;
      if (done && done.outstanding === 0 && (done.completed ?? 0) >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(done).toMatchObject({ outstanding: 0, requestsOutstanding: 0 });
    expect(done?.completed).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
