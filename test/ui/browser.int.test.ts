/**
 * The web pages in a real browser (Debian's headless Chromium): the dashboard of a running daemon, a
 * conversation's page, the dataset viewer over 100,000 conversations, hostile text, pages of another
 * origin, and the inspector's bridge page.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { syntheticRecord, writeSyntheticDataset } from '../../bench/support/dataset.js';
import { type InspectorRelay, startInspectorRelay } from '../../src/inspect/relay-server.js';
import { LiveAggregator } from '../../src/ui/live-aggregator.js';
import { liveBackend } from '../../src/ui/live-backend.js';
import { startUiServer, type UiServer } from '../../src/ui/server.js';
import { startDaemon } from '../cli/run-process.js';
import { launchChromium, type OpenBrowser, pageProblems } from '../support/browser.js';
import { childEnv, parseJsonl, repoRoot, runCli } from '../support/cli.js';
import { deleteKeys, uniqueNames } from '../support/infra.js';

let chromium: OpenBrowser;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  chromium = await launchChromium();
});
afterAll(async () => {
  await chromium?.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function newPage(): Promise<{ page: Page; problems: string[] }> {
  const context = await chromium.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  return { page, problems: pageProblems(page) };
}

/** A plain HTTP server on another port: a page of another origin. */
async function serveHtml(html: string): Promise<{ origin: string; server: Server }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { origin: `http://localhost:${(server.address() as AddressInfo).port}`, server };
}

const HOSTILE =
  '<img src=x onerror="window.__pwned=1;document.title=\'pwned\'"><script>window.__pwned=2</script>';

describe('the dashboard of a running daemon, in Chromium', () => {
  it('shows conversations in flight and finishing, opens one as chat with its turns, and renders a hostile topic as text', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const env = {
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: names.env.REDIS_KEY_PREFIX,
      REDIS_TOPIC_QUEUE: names.env.REDIS_TOPIC_QUEUE,
      LOG_LEVEL: 'info',
      // Slow enough that a conversation is seen in flight, turn by turn, on a loaded machine too.
      SIMULATED_LATENCY_MS: '1000',
      MAX_CONVERSATION_TURNS: '6',
      MIN_CONVERSATION_TURNS: '4',
    };
    const daemon = startDaemon(['--provider', 'simulated', '--http-port', '0', '--ui-port', '0'], env);
    cleanups.push(async () => {
      daemon.child.kill('SIGTERM');
      await daemon.exitWithin(30_000);
    });
    const started = await daemon.waitForLog((l) => typeof l.dashboardUrl === 'string', 'the dashboard URL');
    const url = started.dashboardUrl as string;
    expect(daemon.stderr).toContain(`dashboard at ${url}`);

    const { page, problems } = await newPage();
    await page.goto(url);
    await page.locator('#live:not([hidden])').waitFor();
    await expect(page.locator('#in-flight-list').textContent()).resolves.toContain(
      'No conversation in flight',
    );

    const titles = ['Solid-state batteries reach pilot production', HOSTILE];
    for (const title of titles) {
      const added = await runCli(['topics', 'add', title], { env });
      expect(added.code, added.stderr).toBe(0);
    }

    // In flight first: a row in the in-flight table, with a machine state and a turn count.
    const liveRow = page.locator('#in-flight-list tr.status-active', { hasText: titles[0]! });
    await liveRow.waitFor({ timeout: 30_000 });
    await expect(liveRow.locator('.badge').textContent()).resolves.toMatch(/^running\./);
    // Then finished: it moves to the finished table with its termination reason.
    const doneRow = page.locator('#finished-list tr', { hasText: titles[0]! });
    await doneRow.waitFor({ timeout: 60_000 });
    await expect(
      page.locator('#finished-list tr', { hasText: 'onerror' }).first().waitFor({ timeout: 60_000 }),
    ).resolves.toBeUndefined();

    // The record in Redis is the oracle for the chat view.
    const exported = await runCli(['export', '--from', 'redis', '--format', 'chimera', '--include-failed'], {
      env,
    });
    expect(exported.code, exported.stderr).toBe(0);
    const records = parseJsonl(exported.stdout) as Array<{
      conversationId: string;
      topic: { title: string };
      turns: Array<{ text: string; provider: string }>;
    }>;
    const record = records.find((r) => r.topic.title === titles[0])!;
    expect(record.turns.length).toBeGreaterThan(0);

    await doneRow.locator('a.conv-link').click();
    await page.waitForURL(`**/c/${encodeURIComponent(record.conversationId)}`);
    await page.locator('#chat .turn').first().waitFor();
    const shown = await page.locator('#chat .turn .text').allTextContents();
    expect(shown).toEqual(record.turns.map((t) => t.text));
    await expect(page.locator('#topic').textContent()).resolves.toBe(titles[0]);
    await expect(page.locator('ol.history li').count()).resolves.toBeGreaterThan(record.turns.length);

    // The hostile topic: shown as its literal text, on the list and on its own page, and nothing ran.
    const hostile = records.find((r) => r.topic.title === HOSTILE)!;
    await page.goto(`${url}c/${encodeURIComponent(hostile.conversationId)}`);
    await page.locator('#chat').waitFor();
    await expect(page.locator('#topic').textContent()).resolves.toBe(HOSTILE);
    await expect(page.locator('main img').count()).resolves.toBe(0);
    await expect(page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).resolves.toBeUndefined();
    await page.goto(url);
    await page.locator('#finished-list tr', { hasText: 'onerror' }).first().waitFor();
    await expect(page.locator('main img').count()).resolves.toBe(0);
    await expect(page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).resolves.toBeUndefined();
    expect(problems).toEqual([]);
  });
});

describe('the dataset viewer, in Chromium', () => {
  let dir: string;
  let path: string;
  const COUNT = 100_000;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chimera-viewer-'));
    path = join(dir, 'dataset.jsonl');
    await writeSyntheticDataset(path, COUNT);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function view(args: string[]): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'view', ...args], {
      cwd: repoRoot,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    });
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      child.stderr!.on('data', (chunk) => (err += chunk));
      child.stdout!.on('data', (chunk) => {
        out += chunk;
        const match = /open (http:\/\/\S+)/.exec(out);
        if (match) resolve({ child, url: match[1]! });
      });
      child.once('exit', (code) => reject(new Error(`chimera view exited with ${code}: ${err}`)));
    });
  }

  it('opens a 100,000-line JSONL, searches and filters it, and opens a conversation', async () => {
    const { url } = await view([path, '--port', '0']);
    const { page, problems } = await newPage();
    await page.goto(url);
    await expect(page.locator('#total').textContent()).resolves.toBe('100,000');
    await page.locator('#matched[data-matched="100000"]').waitFor();

    // The oracle: the generator's own records, filtered here by the rule the page states.
    const all = Array.from({ length: COUNT }, (_, i) => syntheticRecord(i));
    const hasWords = (r: (typeof all)[number], words: string[]) =>
      words.every((w) =>
        `${r.topic.title}\n${r.conversationId}\n${r.topic.source}`.toLowerCase().includes(w),
      );
    const searched = all.filter((r) => hasWords(r, ['4242']));
    await page.locator('#search').fill('4242');
    await page.locator(`#matched[data-matched="${searched.length}"]`).waitFor();

    const refusals = searched.filter((r) => r.terminationReason === 'refusal');
    await page.locator('select[name=reason]').selectOption('refusal');
    await page.locator(`#matched[data-matched="${refusals.length}"]`).waitFor();
    const goodRefusals = refusals.filter((r) => r.quality.score >= 0.5);
    await page.locator('input[name=minQuality]').fill('0.5');
    await page.locator(`#matched[data-matched="${goodRefusals.length}"]`).waitFor();
    const listed = await page
      .locator('#results tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    expect(listed.sort()).toEqual(goodRefusals.map((r) => r.conversationId).sort());

    // The filters are in the address: reloading keeps them.
    await page.reload();
    await page.locator(`#matched[data-matched="${goodRefusals.length}"]`).waitFor();

    const target = goodRefusals[0]!;
    await page.locator(`#results tr[data-id="${target.conversationId}"] a`).click();
    await page.locator('#chat .turn').first().waitFor();
    await expect(page.locator('#chat .turn .text').allTextContents()).resolves.toEqual(
      target.turns.map((t) => t.text),
    );
    expect(problems).toEqual([]);
  });
});

describe('pages of another origin', () => {
  let ui: UiServer | undefined;
  let relay: InspectorRelay | undefined;
  afterEach(async () => {
    await ui?.close();
    await relay?.close();
    ui = undefined;
    relay = undefined;
  });

  it('cannot open the dashboard stream, read its API, or open the inspector WebSocket', async () => {
    const aggregator = new LiveAggregator();
    ui = await startUiServer({ backend: liveBackend({ aggregator, title: 'test' }), port: 0 });
    relay = await startInspectorRelay({ port: 0 });
    relay.broadcast({ type: '@xstate.event', sessionId: 's', event: { type: 'TOPIC_TEXT' } } as never);
    const evil = await serveHtml(`<!DOCTYPE html><body><pre id="log"></pre><script>
      const log = (line) => { document.getElementById('log').textContent += line + '\\n'; };
      const es = new EventSource(${JSON.stringify(`${ui.url}api/stream`)});
      es.addEventListener('summary', () => log('sse: summary received'));
      es.onerror = () => { log('sse: error'); es.close(); };
      fetch(${JSON.stringify(`${ui.url}api/conversations`)}).then(() => log('fetch: read')).catch(() => log('fetch: refused'));
      const ws = new WebSocket(${JSON.stringify(`ws://127.0.0.1:${relay.port}`)});
      ws.onmessage = () => log('ws: message received');
      ws.onopen = () => log('ws: open');
      ws.onclose = () => log('ws: closed');
    </script></body>`);
    const { page } = await newPage();
    await page.goto(evil.origin);
    await page.waitForFunction(`(() => {
      const text = document.getElementById('log')?.textContent ?? '';
      return text.includes('sse: error') && text.includes('fetch:') && text.includes('ws: closed');
    })()`);
    const log = await page.locator('#log').textContent();
    expect(log).not.toContain('summary received');
    expect(log).not.toContain('ws: message received');
    expect(log).not.toContain('ws: open');
    expect(log).toContain('fetch: refused');

    // The same requests straight from node, with the page's Origin: refused with 403.
    const refused = await fetch(`${ui.url}api/stream`, { headers: { origin: evil.origin } });
    expect(refused.status).toBe(403);
    const same = await fetch(`${ui.url}api/summary`);
    expect(same.status).toBe(200);
  });
});

describe("the inspector's bridge page", () => {
  let relay: InspectorRelay | undefined;
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
  });

  it('forwards the relayed events to its frame once the frame says it is connected', async () => {
    // A stand-in for the hosted UI on another origin: says it is connected and lists what it is sent.
    const fake = await serveHtml(`<!DOCTYPE html><body><ol id="got"></ol><script>
      window.addEventListener('message', (e) => {
        const li = document.createElement('li');
        li.textContent = JSON.stringify(e.data);
        document.getElementById('got').appendChild(li);
      });
      window.parent.postMessage({ type: '@statelyai.connected' }, '*');
    </script></body>`);
    relay = await startInspectorRelay({ port: 0, inspectorUrl: `${fake.origin}/inspect` });
    relay.broadcast({
      type: '@xstate.event',
      sessionId: 'early',
      event: { type: 'BEFORE_CONNECT' },
    } as never);
    const { page } = await newPage();
    await page.goto(relay.url);
    const frame = page.frameLocator('#inspector');
    await frame.locator('li', { hasText: 'BEFORE_CONNECT' }).waitFor();
    relay.broadcast({ type: '@xstate.event', sessionId: 'late', event: { type: 'AFTER_CONNECT' } } as never);
    await frame.locator('li', { hasText: 'AFTER_CONNECT' }).waitFor();
    await expect(page.locator('#status').isHidden()).resolves.toBe(true);
  });

  it('says plainly that the hosted inspector cannot be reached when it cannot', async () => {
    // Port 9 on loopback: nothing listens, as the hosted UI is unreachable without internet access.
    relay = await startInspectorRelay({ port: 0, inspectorUrl: 'http://127.0.0.1:9/inspect' });
    relay.broadcast({ type: '@xstate.event', sessionId: 's', event: { type: 'X' } } as never);
    const { page } = await newPage();
    await page.goto(relay.url);
    await page.locator('#status').waitFor({ state: 'visible' });
    await expect(page.locator('#status h1').textContent()).resolves.toBe(
      'The Stately inspector UI cannot be reached',
    );
    await page.locator('#status [data-count]', { hasText: '1' }).waitFor();
  });
});
