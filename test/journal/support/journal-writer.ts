/**
 * A process that writes to a journal as fast as it can until it is killed: for i = 0, 1, ... it stores
 * the answer of turn i of conversation `crash` and settles call i at i + 1 micros, then prints `ack i`
 * once both are durable. Started by the crash test; resumes numbering from what the journal holds.
 *   node --import tsx test/journal/support/journal-writer.ts DIR
 */
import { writeSync } from 'node:fs';
import { openJournalStores } from '../../../src/services/journal/index.js';
import { sampleTurn } from '../../contracts/turn-cache.js';

const dir = process.argv[2]!;
const stores = await openJournalStores(dir);
let i = stores.journal.state.turns.get('crash')?.size ?? 0;
/** Synchronous: an acknowledgement reaches the parent before the next record is even queued. */
function say(line: string): void {
  const bytes = Buffer.from(`${line}\n`);
  for (let written = 0; written < bytes.length; ) {
    try {
      written += writeSync(1, bytes, written);
    } catch (error) {
      // A full pipe: the parent has not read yet; try again.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

say(`start ${i}`);
for (;;) {
  await stores.turns.putIfAbsent(
    { conversationId: 'crash', turnIndex: i, generation: 0 },
    sampleTurn(`answer ${i}`, i),
  );
  await stores.budget.settle(`call-${i}`, i + 1, { provider: 'anthropic', model: 'claude-sonnet-5-5' });
  say(`ack ${i}`);
  i += 1;
}
