/**
 * What a journal holds, in memory, and how each record changes it. Replaying the records of a segment in
 * order rebuilds the state the writing process had; every record applies idempotently (a record applied
 * twice leaves the state as once), so a compaction racing a write cannot double anything.
 */
import {
  type BudgetState,
  emptyBudgetState,
  releaseIn,
  reserveIn,
  settleIn,
} from '../../cost/budget-state.js';
import type { Turn } from '../../events.js';
import type { ConversationStatus, OutboxEntry } from '../ports.js';

export interface ConversationEntry {
  /** The last fencing token handed out. */
  fence: number;
  lease?: { owner: string; token: number; expiresAt: number };
  /** The stored snapshot text (as the Redis store holds it). */
  stored?: string;
  status?: ConversationStatus;
  /** Position in the active index (lease expiry); only for saved, unfinished conversations. */
  activeScore?: number;
  /** When the record stops being readable. */
  expiresAt?: number;
  /** Crashes of the conversation's actor so far. */
  crashes?: number;
}

export interface JournalState {
  conversations: Map<string, ConversationEntry>;
  outbox: OutboxEntry[];
  outboxSeq: number;
  /** Conversation -> `turnIndex:generation` -> turn. */
  turns: Map<string, Map<string, Turn>>;
  budget: BudgetState;
  /** The run this journal belongs to (a resumable `generate`): its id and a digest of its inputs. */
  run?: JournalRun;
  /** The run's output file: its durable length and the conversations it has dealt with. */
  output: JournalOutput;
}

export interface JournalRun {
  id: string;
  inputs: string;
}

export interface JournalOutput {
  /** Bytes of the output file known to be complete and flushed: anything after them is a torn write. */
  bytes: number;
  /** Conversations whose record was written (or deliberately left out) up to `bytes`. */
  done: Set<string>;
}

export function emptyJournalState(): JournalState {
  return {
    conversations: new Map(),
    outbox: [],
    outboxSeq: 0,
    turns: new Map(),
    budget: emptyBudgetState(),
    output: { bytes: 0, done: new Set() },
  };
}

type EntryFields = Omit<ConversationEntry, 'stored'>;

export type JournalRecord =
  /** A conversation's entry after a change; `stored` only when the snapshot changed; `events` saved with it. */
  | { t: 'conv'; id: string; e: EntryFields; stored?: string; events?: OutboxEntry[] }
  | { t: 'ack'; ids: string[] }
  | { t: 'turn'; c: string; k: string; turn: Turn }
  | { t: 'forget'; c: string }
  | { t: 'reserve'; id: string; micros: number; ttl: number; at: number }
  | { t: 'settle'; id: string; micros: number; provider: string; model: string; at: number }
  | { t: 'release'; id: string; at: number }
  | { t: 'cap'; cap: number | null }
  | { t: 'configured-cap'; cap: number | null }
  /** A process opened the journal at `at`: the previous one is gone, with its leases and reservations. */
  | { t: 'recovered'; at: number }
  /** The outbox as a whole and the last id handed out, at the start of a compacted segment. */
  | { t: 'outbox'; seq: number; entries: OutboxEntry[] }
  /** The budget as a whole, at the start of a compacted segment. */
  | { t: 'budget'; state: SerializedBudget }
  /** The run this journal belongs to. */
  | { t: 'run'; id: string; inputs: string }
  /** Output records up to `bytes` are flushed: the conversations `c` are dealt with. */
  | { t: 'output'; c: string[]; bytes: number }
  /** The end of a segment's base: a segment without it is not one. */
  | { t: 'base-end'; at: number };

export interface SerializedBudget {
  capMicros: number | null;
  configuredCap: number | 'none';
  spentMicros: number;
  reservedMicros: number;
  expiredMicros: number;
  overrunMicros: number;
  reservations: Array<[string, { micros: number; expiresAt: number }]>;
  settled: Array<[string, number]>;
  spentBy: Array<[string, number]>;
  minutes: Array<[number, number]>;
}

export function serializeBudget(b: BudgetState): SerializedBudget {
  return {
    capMicros: b.capMicros,
    configuredCap: b.configuredCap,
    spentMicros: b.spentMicros,
    reservedMicros: b.reservedMicros,
    expiredMicros: b.expiredMicros,
    overrunMicros: b.overrunMicros,
    reservations: [...b.reservations],
    settled: [...b.settled],
    spentBy: [...b.spentBy],
    minutes: [...b.minutes],
  };
}

function deserializeBudget(s: SerializedBudget): BudgetState {
  return {
    ...s,
    reservations: new Map(s.reservations),
    settled: new Map(s.settled),
    spentBy: new Map(s.spentBy),
    minutes: new Map(s.minutes),
  };
}

/** Applies one record. */
export function applyRecord(state: JournalState, record: JournalRecord): void {
  switch (record.t) {
    case 'conv': {
      const previous = state.conversations.get(record.id);
      const stored = record.stored ?? previous?.stored;
      state.conversations.set(record.id, { ...record.e, ...(stored === undefined ? {} : { stored }) });
      for (const event of record.events ?? []) {
        const seq = Number(event.id);
        if (seq <= state.outboxSeq) continue; // already applied
        state.outbox.push(event);
        state.outboxSeq = seq;
      }
      return;
    }
    case 'ack': {
      const acked = new Set(record.ids);
      state.outbox = state.outbox.filter((entry) => !acked.has(entry.id));
      return;
    }
    case 'turn': {
      let turns = state.turns.get(record.c);
      if (!turns) {
        turns = new Map();
        state.turns.set(record.c, turns);
      }
      if (!turns.has(record.k)) turns.set(record.k, record.turn);
      return;
    }
    case 'forget':
      state.turns.delete(record.c);
      return;
    case 'reserve':
      reserveIn(state.budget, record.id, record.micros, record.ttl, record.at);
      return;
    case 'settle':
      settleIn(
        state.budget,
        record.id,
        record.micros,
        { provider: record.provider, model: record.model },
        record.at,
      );
      return;
    case 'release':
      releaseIn(state.budget, record.id, record.at);
      return;
    case 'cap':
      state.budget.capMicros = record.cap;
      return;
    case 'configured-cap':
      state.budget.configuredCap = record.cap ?? 'none';
      state.budget.capMicros = record.cap;
      return;
    case 'recovered':
      forgetTheDead(state, record.at);
      return;
    case 'outbox':
      state.outbox = [...record.entries];
      state.outboxSeq = Math.max(state.outboxSeq, record.seq);
      return;
    case 'budget':
      state.budget = deserializeBudget(record.state);
      return;
    case 'run':
      state.run = { id: record.id, inputs: record.inputs };
      return;
    case 'output':
      for (const c of record.c) state.output.done.add(c);
      state.output.bytes = Math.max(state.output.bytes, record.bytes);
      return;
    case 'base-end':
      return;
  }
}

/**
 * The process that wrote the journal is gone (the directory lock proves it): its leases end now, so its
 * unfinished conversations are adoptable at once, and its reservations lapse into `expired`.
 */
function forgetTheDead(state: JournalState, at: number): void {
  for (const entry of state.conversations.values()) {
    entry.lease = undefined;
    if (entry.activeScore !== undefined) entry.activeScore = Math.min(entry.activeScore, at);
  }
  const budget = state.budget;
  for (const [id, reservation] of budget.reservations) {
    budget.reservations.delete(id);
    budget.reservedMicros -= reservation.micros;
    budget.expiredMicros += reservation.micros;
  }
}

/**
 * The records that rebuild `state` from nothing: what a compacted segment starts with. Finished
 * conversations past retention and turns of conversations no longer kept are left out.
 */
export function baseRecords(state: JournalState, now: number): JournalRecord[] {
  const records: JournalRecord[] = [];
  for (const [id, entry] of state.conversations) {
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) continue;
    const { stored, ...e } = entry;
    records.push({ t: 'conv', id, e, ...(stored === undefined ? {} : { stored }) });
  }
  records.push({ t: 'outbox', seq: state.outboxSeq, entries: state.outbox });
  for (const [c, turns] of state.turns) {
    const kept = state.conversations.get(c);
    if (kept?.status !== undefined && kept.status !== 'active') continue; // finished: its turns live in its snapshot
    for (const [k, turn] of turns) records.push({ t: 'turn', c, k, turn });
  }
  records.push({ t: 'budget', state: serializeBudget(state.budget) });
  if (state.run) records.push({ t: 'run', ...state.run });
  if (state.output.bytes > 0 || state.output.done.size > 0)
    records.push({ t: 'output', c: [...state.output.done], bytes: state.output.bytes });
  return records;
}
