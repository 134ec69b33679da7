import { InMemoryParkedMessages } from '../../src/services/memory/parked-messages.js';
import { parkedMessagesContract } from '../contracts/parked-messages.js';

parkedMessagesContract('memory', async () => ({
  parked: new InMemoryParkedMessages(100),
  maxLength: 100,
  cleanup: async () => {},
}));
