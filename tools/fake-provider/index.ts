export {
  type DialogueReply,
  type DialogueRequest,
  estimateTokens,
  generateDialogue,
} from '../../src/services/providers/simulated/dialogue.js';
export type { BatchBehaviour, BatchIdCount } from './batches.js';
export type { Dialect, FakeBehaviour, Operation, ReceivedRequest, Responder } from './behaviours.js';
export { type BillLine, type FakeBill, fakeRequestMicros, type KeyCount } from './bill.js';
export { FAKE_PROVIDER_USAGE, fakeProviderEnv, parseFakeProviderArgs, runFakeProvider } from './main.js';
export { FAKE_PRICE_LIST } from './price-list.js';
export type { QuotaLimits } from './quota.js';
export {
  type FakeProviderServer,
  type FakeProviderServerOptions,
  type FakeServerStats,
  startFakeProviderServer,
} from './server.js';
