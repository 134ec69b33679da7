/**
 * `npm run screenshots`: the pictures of the dashboard, a conversation page and the dataset viewer in
 * docs/images/, taken in headless Chromium from a daemon running the simulated provider on the Redis at
 * REDIS_URL (default 127.0.0.1:6379, under a key prefix of its own) and from a synthetic dataset.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { writeSyntheticDataset } from '../bench/support/dataset.js';
import { launchChromium } from '../test/support/browser.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'docs/images');
const prefix = `shots-${process.pid}`;
const env = {
  ...process.env,
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_KEY_PREFIX: prefix,
  REDIS_TOPIC_QUEUE: `${prefix}:topics:queue`,
  SIMULATED_LATENCY_MS: '900',
  MAX_CONVERSATION_TURNS: '8',
  LOG_LEVEL: 'warn',
};
const cli = (args: string[]) =>
  spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env, stdio: 'pipe' });

function urlFrom(child: ReturnType<typeof cli>, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const read = (chunk: Buffer) => {
      text += chunk;
      const match = pattern.exec(text);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
  });
}

const daemon = cli(['run', '--provider', 'simulated', '--http-port', '0', '--ui-port', '0']);
const dashboard = await urlFrom(daemon, /dashboard at (http:\/\/\S+)/);
const topics = [
  'Solid-state batteries reach pilot production',
  'Why the sky is blue',
  'Rust in the Linux kernel',
  'The economics of open-weight models',
  'How volcanoes form',
  'Perovskite solar cells',
  'Small modular reactors',
  'Vertical farming at scale',
  'Green hydrogen and steel',
  'CRISPR in agriculture',
  'The history of the transistor',
  'Ocean acidification',
];
for (const [i, title] of topics.entries()) {
  await new Promise((resolve) => cli(['topics', 'add', title]).on('exit', resolve));
  if (i === 7) await sleep(8_000);
}
await sleep(2_000);
const chromium = await launchChromium();
const page = await chromium.browser.newPage({ viewport: { width: 1400, height: 1000 } });
await page.goto(dashboard);
await sleep(2_500);
await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true });
const link = page.locator('#finished-list a.conv-link').first();
await link.click();
await page.locator('#chat .turn').first().waitFor();
await page.screenshot({ path: join(out, 'conversation.png'), fullPage: true });
daemon.kill('SIGTERM');

const dir = mkdtempSync(join(tmpdir(), 'chimera-shots-'));
await writeSyntheticDataset(join(dir, 'dataset.jsonl'), 100_000);
const viewer = cli(['view', join(dir, 'dataset.jsonl'), '--port', '0']);
const viewUrl = await urlFrom(viewer, /open (http:\/\/\S+)/);
await page.goto(`${viewUrl}?reason=natural_end&minQuality=0.5&sort=-quality`);
await page.locator('#results').waitFor();
await page.screenshot({ path: join(out, 'viewer.png'), clip: { x: 0, y: 0, width: 1400, height: 1250 } });
viewer.kill('SIGTERM');
await chromium.close();
process.stdout.write(`screenshots in ${out}\n`);
