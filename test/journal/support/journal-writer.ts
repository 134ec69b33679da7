/**
 * A process that writes to a journal as fast as it can until it is killed: for i = 0, 1, ... it stores
 * the answer of turn i of conversation `crash` and settles call i at i + 1 micros, then prints `ack i`
 * once both are durable. Started by the crash test; resumes numbering from what the journal holds.
 *   node --import tsx test/journal/support/journal-writer.ts DIR
 */
import { openJournalStores } from '../../../src/services/journal/index.js';
import { sampleTurn } from '../../contracts/turn-cache.js';

const dir = process.argv[2]!;
const stores = await openJournalStores(dir);
let i = stores.journal.state.turns.get('crash')?.size ?? 0;
process.stdout.write(`start ${i}\n`);
for (;;) {
  await stores.turns.putIfAbsent(
    { conversationId: 'crash', turnIndex: i, generation: 0 },
    sampleTurn(`answer ${i}`, i),
  );
  await stores.budget.settle(`call-${i}`, i + 1, { provider: 'anthropic', model: 'claude-sonnet-5-5' });
  process.stdout.write(`ack ${i}\n`);
  i += 1;
}
