/**
 * Batch mode at scale: 2,000 conversations of 10 turns whose every turn goes through a provider's batch
 * API with a simulated batch delay, on the real Redis (batch store and turn cache), each conversation a
 * loop that asks for its next turn with its history, as `callingModel` does. Reports the turn rounds, the
 * batches and requests per batch, the wall time, the cost against the same tokens online (the built-in
 * price table's batch discount), and the peak RSS while the conversations wait.
 *
 *   node --import tsx bench/batch.ts [--quick] [--conversations=N] [--turns=N] [--delay-ms=N]
 */
import { ProviderBatcher } from '../src/batch/provider-batcher.js';
import { chargeCall } from '../src/cost/ledger.js';
import { BUILT_IN_PRICES } from '../src/cost/price-table.js';
import { buildPriceTable, parsePriceFile } from '../src/cost/prices.js';
import type { Turn } from '../src/events.js';
import { systemClock } from '../src/services/ports.js';
import { RedisBatchStore } from '../src/services/redis/batch-store.js';
import { createRedis } from '../src/services/redis/client.js';
import { RedisTurnCache } from '../src/services/redis/turn-cache.js';
import { cleanup, infra, runNames } from './support/infra.js';
import { MIB, sampleRss } from './support/memory.js';
import { intOption } from './support/options.js';
import { emit, note, printTable } from './support/report.js';
import { SimulatedBatchApi } from './support/simulated-batch-api.js';

const BENCH = 'batch';
const sizes = {
  conversations: intOption('conversations', 2_000, 200),
  turns: intOption('turns', 10, 4),
  delayMs: intOption('delay-ms', 2_000, 500),
};
const MODEL = 'claude-sonnet-5-5';

const services = await infra();
const names = runNames(BENCH);
const redis = createRedis(services.redisUrl);
const api = new SimulatedBatchApi('anthropic', MODEL, sizes.delayMs);
const turnCache = new RedisTurnCache(redis, names.prefix);
const batcher = await new ProviderBatcher({
  api,
  store: new RedisBatchStore(redis, names.prefix),
  turnCache,
  clock: systemClock,
  owner: 'bench',
  settings: { maxRequests: 10_000, collectMs: 500, pollMinMs: 250, pollMaxMs: 1_000 },
}).start();

note(`${sizes.conversations} conversations x ${sizes.turns} turns, batch delay ${sizes.delayMs} ms`);
const rss = sampleRss();
const started = Date.now();
const all: Turn[][] = await Promise.all(
  Array.from({ length: sizes.conversations }, async (_, c) => {
    const conversationId = `bench-${c}`;
    const turns: Turn[] = [];
    for (let t = 0; t < sizes.turns; t++) {
      turns.push(
        await batcher.call(
          { conversationId, turnIndex: t, generation: 0 },
          {
            system: 'You talk about tidal energy, briefly.',
            messages: [
              { role: 'user', content: `Topic ${c}: tidal energy` },
              ...turns.map((turn, i) => ({
                role: (i % 2 === 0 ? 'assistant' : 'user') as 'assistant' | 'user',
                content: turn.text,
              })),
            ],
            maxTokens: 256,
            temperature: 0.8,
          },
        ),
      );
    }
    return turns;
  }),
);
const wallMs = Date.now() - started;
rss.stop();
batcher.stop();

const table = buildPriceTable(parsePriceFile(BUILT_IN_PRICES, 'builtin', 'built-in price table'));
let batchMicros = 0;
let onlineMicros = 0;
for (const turn of all.flat()) {
  batchMicros += chargeCall(table, { provider: 'anthropic' }, MODEL, turn.usage, { batch: true }).micros ?? 0;
  onlineMicros +=
    chargeCall(table, { provider: 'anthropic' }, MODEL, turn.usage, { batch: false }).micros ?? 0;
}
const complete = all.every(
  (turns) => turns.length === sizes.turns && turns.every((turn, i) => turn.index === i),
);
const detail = { conversations: sizes.conversations, turns: sizes.turns, delayMs: sizes.delayMs, complete };
emit({ bench: BENCH, metric: 'turn_rounds', value: sizes.turns, unit: 'rounds', ...detail });
emit({
  bench: BENCH,
  metric: 'batches',
  value: api.batchSizes.length,
  unit: 'batches',
  goal: `<= ${2 * sizes.turns}`,
  pass: api.batchSizes.length <= 2 * sizes.turns,
  ...detail,
});
emit({
  bench: BENCH,
  metric: 'requests_per_batch',
  value: api.batchSizes.reduce((s, n) => s + n, 0) / api.batchSizes.length,
  unit: 'requests',
  ...detail,
});
emit({ bench: BENCH, metric: 'wall_time', value: wallMs / 1000, unit: 's', ...detail });
emit({
  bench: BENCH,
  metric: 'cost_vs_online',
  value: (100 * batchMicros) / Math.max(1, onlineMicros),
  unit: '%',
  goal: '<= 52',
  pass: batchMicros * 100 <= onlineMicros * 52,
  ...detail,
});
emit({ bench: BENCH, metric: 'peak_rss_waiting', value: rss.peak / MIB, unit: 'MiB', ...detail });
await redis.quit();
await cleanup(services, names);
printTable('Batch mode');
