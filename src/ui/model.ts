/**
 * What the dashboard and the dataset viewer show, as plain JSON: the one data model between the server's
 * sources (XState inspection, finished records, the metrics registry, the store, a dataset file) and the
 * browser. Fields a source does not have yet are optional and the page leaves their slot empty: the cost
 * ledger fills `costMicros` and `spend`, batch mode fills `batches`, richer records fill `judgeScore`,
 * `persona`, `style`, `stopReason` and `discarded`.
 *
 * Money is integer micro-units of a currency (1 USD = 1,000,000), never a float sum.
 */

export type ConversationStatus = 'active' | 'ended' | 'failed' | 'timedOut' | 'stopped';

export interface TurnView {
  index: number;
  speaker: 'questioner' | 'answerer' | 'system';
  /** The chat role when the source only has roles (OpenAI or ShareGPT exports). */
  role?: string;
  provider?: string;
  model?: string;
  text: string;
  inputTokens?: number;
  outputTokens?: number;
  latencyMs?: number;
  attempts?: number;
  stopReason?: string;
  costMicros?: number;
  at?: number;
  /** A turn generated and then dropped (repetition, refusal): shown struck through, not part of the data. */
  discarded?: boolean;
  /** Why it was dropped (`repetition`, `refusal`). */
  discardReason?: string;
  /** Cut off at the token limit. */
  truncated?: boolean;
}

export interface LastTurn {
  index: number;
  speaker: string;
  provider?: string;
  /** The first characters only: the list shows a preview, the conversation page the whole turn. */
  preview: string;
}

export interface ConversationSummary {
  id: string;
  title: string;
  status: ConversationStatus;
  /** The machine state, dotted (`running.callingModel`), or the final status. */
  state: string;
  turns: number;
  providers: string[];
  startedAt?: number;
  endedAt?: number;
  updatedAt?: number;
  terminationReason?: string;
  qualityScore?: number;
  judgeScore?: number;
  persona?: string;
  /** The persona ids of both sides, when the record names them. */
  personaIds?: string[];
  style?: string;
  costMicros?: number;
  simulated?: boolean;
  lastTurn?: LastTurn;
}

export interface HistoryEntry {
  at: number;
  kind: 'state' | 'event' | 'turn' | 'finished';
  label: string;
}

export interface ConversationDetail extends ConversationSummary {
  topic: { id?: string; title: string; source?: string; url?: string; metadata?: Record<string, unknown> };
  personas?: { questioner?: string; answerer?: string };
  system?: string;
  turnList: TurnView[];
  quality?: Record<string, number>;
  error?: { code: string; message: string };
  /** Newest last; bounded (the oldest entries are dropped first). */
  history: HistoryEntry[];
  /** Where a dataset conversation came from: file and line. */
  location?: { file: string; line: number };
  format?: string;
}

export interface LatencyView {
  count: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface RateLimitView {
  requestsInUse: number;
  rpm: number;
  tokensInUse?: number;
  tpm?: number;
}

export interface ProviderView {
  requests: number;
  errors: number;
  retries: number;
  breaker?: 'closed' | 'halfOpen' | 'open';
  latency?: LatencyView;
  rateLimit?: RateLimitView;
}

/** Spend, when the cost ledger reports it. */
export interface SpendView {
  currency: string;
  totalMicros: number;
  perHourMicros?: number;
  projectedTotalMicros?: number;
  capMicros?: number;
}

/** Provider batch jobs, when batch mode reports them. */
export interface BatchesView {
  outstanding: number;
  requestsOutstanding?: number;
  completed?: number;
  failed?: number;
}

export interface MinuteByReason {
  /** Start of the minute, epoch ms. */
  at: number;
  byReason: Record<string, number>;
}

export interface SeriesView {
  /** Bucket starts, epoch seconds (uPlot's x axis). */
  t: number[];
  turnsPerSecond: number[];
  /** Mean quality score of the conversations finished in the bucket; null when none finished. */
  quality: Array<number | null>;
  /** Spend per bucket in micro-units, when the cost ledger reports it. */
  spendMicros?: Array<number | null>;
}

export interface LiveSummary {
  at: number;
  inFlight: number;
  finished: number;
  turns: number;
  turnsPerSecond: number;
  finishedPerMinute: MinuteByReason[];
  reasons: Record<string, number>;
  providers: Record<string, ProviderView>;
  outboxBacklog?: number;
  stored?: Record<string, number>;
  series: SeriesView;
  spend?: SpendView;
  batches?: BatchesView;
}

/** Deltas the live page receives over server-sent events. */
export type LiveEvent =
  | { type: 'conversation'; conversation: ConversationSummary }
  | { type: 'turn'; id: string; turn: TurnView }
  | { type: 'removed'; id: string };
