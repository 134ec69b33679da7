import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { configFor, deleteKeys, infraEnv, startChimera, uniqueNames } from '../support/infra.js';

const cleanups = cleanupsAfterEach();

/** `name{labels} value` samples of a histogram's `_count` series, by their `operation` label. */
async function counts(registry: Registry, name: string): Promise<Record<string, number>> {
  const text = await registry.metrics();
  const found: Record<string, number> = {};
  for (const match of text.matchAll(new RegExp(`^${name}_count\\{operation="(\\w+)"\\} (\\d+)$`, 'gm'))) {
    found[match[1]!] = Number(match[2]);
  }
  return found;
}

describe('store latency metric', () => {
  it('a daemon on Redis reports the duration of every snapshot save and load in chimera_store_operation_seconds', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const registry = new Registry();
    const env = infraEnv({ ...names.env, MAX_CONVERSATION_TURNS: '2', MIN_CONVERSATION_TURNS: '1' });
    const chimera = await startChimera(configFor(env), {
      registry,
      intake: 'none',
      sides: ['simulated', 'simulated'],
    });
    cleanups.add(() => chimera.stop());

    const id = await chimera.startNewConversation({ id: 'metric-topic', title: 'How tides are predicted' });
    await chimera.waitFor(id, 30_000);
    expect(await chimera.parts.store.load(id)).not.toBeNull();

    const seen = await counts(registry, 'chimera_store_operation_seconds');
    // One save at the start, one per turn and one at the end: at least three; the load above is one.
    expect(seen.save).toBeGreaterThanOrEqual(3);
    expect(seen.load).toBeGreaterThanOrEqual(1);
  });
});
