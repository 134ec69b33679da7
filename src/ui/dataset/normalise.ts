/**
 * Any exported conversation, in any of the export formats, as the viewer's one model: `chimera` full
 * records (topic, providers, per-turn tokens and latency, quality, termination reason), `openai`
 * (`{"messages":[{role, content}]}`) and `sharegpt` (`{"conversations":[{from, value}]}`). Pure; the
 * fields later record versions add (judge score, persona and style ids, discarded turns, topic metadata,
 * per-turn cost and stop reason) are read when present and left out when not.
 */
import type { ConversationDetail, ConversationStatus, TurnView } from '../model.js';
import { qualityFigures } from '../quality-figures.js';

export type DatasetRowFormat = 'chimera' | 'openai' | 'sharegpt' | 'parquet';

/** What the index keeps of one conversation: enough to list, search, filter and find it again. */
export interface IndexEntry {
  id: string;
  title: string;
  /** Lower-cased title, id and source: what the search box matches. */
  search: string;
  format: DatasetRowFormat;
  status?: ConversationStatus;
  reason?: string;
  quality?: number;
  judge?: number;
  /** The persona ids of both sides (from the record's provenance); the filter matches either. */
  personas: string[];
  style?: string;
  providers: string[];
  turns: number;
  /** Characters of dialogue text. */
  chars: number;
  simulated?: boolean;
  costMicros?: number;
  /** Which file of the dataset, and where its line starts and ends (bytes). */
  file: number;
  line: number;
  offset: number;
  length: number;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

export function formatOf(row: unknown): DatasetRowFormat | undefined {
  if (!isObject(row)) return undefined;
  if (Array.isArray(row.turns) && isObject(row.topic)) return 'chimera';
  if (Array.isArray(row.messages)) return 'openai';
  if (Array.isArray(row.conversations)) return 'sharegpt';
  return undefined;
}

/** The first of the fields that is a string or carries an `id`/`name` (persona and style references). */
function label(...values: unknown[]): string | undefined {
  for (const value of values) {
    if (typeof value === 'string' && value !== '') return value;
    if (isObject(value)) {
      const inner = str(value.id) ?? str(value.name);
      if (inner) return inner;
    }
  }
  return undefined;
}

function judgeOf(row: Json): number | undefined {
  const judge = row.judge;
  const quality = isObject(row.quality) ? row.quality : {};
  // A chimera record's judge: `quality.judge.overall` (1-5); absent when it was left unjudged.
  const verdict = isObject(quality.judge) ? num(quality.judge.overall) : undefined;
  return (
    verdict ?? num(isObject(judge) ? judge.score : judge) ?? num(row.judgeScore) ?? num(quality.judgeScore)
  );
}

function chimeraTurn(raw: unknown, position: number): TurnView {
  const turn = isObject(raw) ? raw : {};
  const usage = isObject(turn.usage) ? turn.usage : {};
  const cost = isObject(turn.cost) ? (num(turn.cost.micros) ?? num(turn.cost.totalMicros)) : undefined;
  return {
    index: num(turn.index) ?? position,
    speaker: turn.speaker === 'answerer' ? 'answerer' : 'questioner',
    provider: str(turn.provider),
    model: str(turn.model),
    text: str(turn.text) ?? '',
    inputTokens: num(usage.inputTokens),
    outputTokens: num(usage.outputTokens),
    latencyMs: num(turn.latencyMs),
    attempts: num(turn.attempts),
    at: num(turn.at),
    ...(str(turn.stopReason) ? { stopReason: str(turn.stopReason) } : {}),
    ...((num(turn.costMicros) ?? cost) !== undefined ? { costMicros: num(turn.costMicros) ?? cost } : {}),
    ...(turn.discarded === true ? { discarded: true } : {}),
    ...(str(turn.reason) ? { discardReason: str(turn.reason) } : {}),
    ...(turn.truncated === true ? { truncated: true } : {}),
  };
}

const ROLE_SPEAKER: Record<string, TurnView['speaker']> = {
  user: 'questioner',
  human: 'questioner',
  assistant: 'answerer',
  gpt: 'answerer',
  system: 'system',
};

function chatTurns(messages: unknown[], roleKey: string, textKey: string): TurnView[] {
  const turns: TurnView[] = [];
  for (const raw of messages) {
    if (!isObject(raw)) continue;
    const role = str(raw[roleKey]) ?? 'user';
    turns.push({
      index: turns.length,
      speaker: ROLE_SPEAKER[role] ?? 'questioner',
      role,
      text: str(raw[textKey]) ?? '',
    });
  }
  return turns;
}

/**
 * The viewer's model of one row, or undefined when the row is no conversation in a known format.
 * `fallbackId` names rows without an id of their own (OpenAI and ShareGPT rows): file and line.
 */
export function normalise(row: unknown, fallbackId: string): ConversationDetail | undefined {
  const format = formatOf(row);
  if (!format || !isObject(row)) return undefined;
  if (format === 'chimera') {
    const topic = row.topic as Json;
    const turns = (row.turns as unknown[]).map(chimeraTurn);
    const discarded = Array.isArray(row.discarded) ? row.discarded.map(chimeraTurn) : [];
    for (const turn of discarded) turn.discarded = true;
    const providers = isObject(row.providers) ? row.providers : {};
    const personas = isObject(row.personas) ? row.personas : {};
    const quality = isObject(row.quality) ? row.quality : undefined;
    const numbers = qualityFigures(quality);
    const turnList = [...turns, ...discarded].sort(
      (a, b) => a.index - b.index || Number(a.discarded) - Number(b.discarded),
    );
    const costs = turnList.map((t) => t.costMicros).filter((c): c is number => c !== undefined);
    const error = isObject(row.error)
      ? { code: String(row.error.code), message: String(row.error.message) }
      : undefined;
    const judge = judgeOf(row);
    const provenance = isObject(row.provenance) ? row.provenance : {};
    const personaRefs = isObject(provenance.personas) ? provenance.personas : {};
    const personaIds = [label(personaRefs.questioner), label(personaRefs.answerer)].filter(
      (id): id is string => id !== undefined,
    );
    const persona =
      personaIds.length > 0
        ? [...new Set(personaIds)].join(' / ')
        : label(row.persona, row.personaId, isObject(row.personaIds) ? row.personaIds.answerer : undefined);
    const style = label(provenance.style, row.style, row.styleId);
    const recordCost =
      num(row.cost) ?? (isObject(row.cost) ? (num(row.cost.totalMicros) ?? num(row.cost.micros)) : undefined);
    const status = str(row.status) as ConversationStatus | undefined;
    return {
      id: str(row.conversationId) ?? fallbackId,
      title: str(topic.title) ?? '',
      status: status ?? 'ended',
      state: status ?? 'ended',
      turns: turns.length,
      providers: [
        ...new Set([str(providers.questioner), str(providers.answerer)].filter((p): p is string => !!p)),
      ],
      startedAt: num(row.startedAt),
      endedAt: num(row.endedAt),
      terminationReason: str(row.terminationReason),
      ...(numbers?.score !== undefined ? { qualityScore: numbers.score } : {}),
      ...(judge !== undefined ? { judgeScore: judge } : {}),
      ...(persona ? { persona } : {}),
      ...(style ? { style } : {}),
      ...(recordCost !== undefined
        ? { costMicros: recordCost }
        : costs.length > 0
          ? { costMicros: costs.reduce((a, b) => a + b, 0) }
          : {}),
      ...(personaIds.length > 0 ? { personaIds } : {}),
      ...(typeof row.simulated === 'boolean' ? { simulated: row.simulated } : {}),
      topic: {
        title: str(topic.title) ?? '',
        ...(str(topic.id) ? { id: str(topic.id) } : {}),
        ...(str(topic.source) ? { source: str(topic.source) } : {}),
        ...(str(topic.url) ? { url: str(topic.url) } : {}),
        ...(isObject(topic.metadata) ? { metadata: topic.metadata } : {}),
      },
      personas: { questioner: str(personas.questioner), answerer: str(personas.answerer) },
      turnList,
      ...(numbers ? { quality: numbers } : {}),
      ...(error ? { error } : {}),
      history: [],
      format,
    };
  }
  const all =
    format === 'openai'
      ? chatTurns(row.messages as unknown[], 'role', 'content')
      : chatTurns(row.conversations as unknown[], 'from', 'value');
  const system = all.find((t) => t.speaker === 'system')?.text;
  const turnList = all.filter((t) => t.speaker !== 'system').map((t, index) => ({ ...t, index }));
  const firstQuestion = turnList.find((t) => t.speaker === 'questioner')?.text ?? '';
  const judge = judgeOf(row);
  return {
    id: str(row.id) ?? str(row.conversationId) ?? fallbackId,
    // Chat rows carry no topic: the opening question stands in for a title.
    title: firstQuestion.length > 160 ? `${firstQuestion.slice(0, 160)}…` : firstQuestion,
    status: 'ended',
    state: 'ended',
    turns: turnList.length,
    providers: [],
    ...(judge !== undefined ? { judgeScore: judge } : {}),
    topic: { title: firstQuestion },
    ...(system !== undefined ? { system } : {}),
    turnList,
    history: [],
    format,
  };
}

/** The index entry of a normalised row found at `offset` (bytes) of file number `file`, line `line`. */
export function indexEntry(
  detail: ConversationDetail,
  place: { file: number; line: number; offset: number; length: number },
): IndexEntry {
  let chars = 0;
  for (const turn of detail.turnList) if (!turn.discarded) chars += turn.text.length;
  const title = detail.title.length > 300 ? `${detail.title.slice(0, 300)}…` : detail.title;
  return {
    id: detail.id,
    title,
    search: `${title}\n${detail.id}\n${detail.topic.source ?? ''}`.toLowerCase(),
    format: (detail.format as DatasetRowFormat | undefined) ?? 'chimera',
    ...(detail.format === 'chimera' ? { status: detail.status } : {}),
    ...(detail.terminationReason ? { reason: detail.terminationReason } : {}),
    ...(detail.qualityScore !== undefined ? { quality: detail.qualityScore } : {}),
    ...(detail.judgeScore !== undefined ? { judge: detail.judgeScore } : {}),
    personas: detail.personaIds ?? (detail.persona ? [detail.persona] : []),
    ...(detail.style ? { style: detail.style } : {}),
    providers: detail.providers,
    turns: detail.turns,
    chars,
    ...(detail.simulated !== undefined ? { simulated: detail.simulated } : {}),
    ...(detail.costMicros !== undefined ? { costMicros: detail.costMicros } : {}),
    ...place,
  };
}

/**
 * A row of the Parquet export (`export --format parquet`: one row per conversation, `messages` as
 * `{role, content}` plus provenance and quality columns; see `src/export/parquet/columns.ts`).
 */
export function normaliseParquetRow(row: Json, fallbackId: string): ConversationDetail | undefined {
  if (!Array.isArray(row.messages)) return undefined;
  const all = chatTurns(row.messages, 'role', 'content');
  const side = (speaker: TurnView['speaker']) => (speaker === 'answerer' ? 'answerer' : 'questioner');
  const turnList = all
    .filter((t) => t.speaker !== 'system')
    .map((t, index) => ({
      ...t,
      index,
      provider: str(row[`${side(t.speaker)}_provider`]),
      model: str(row[`${side(t.speaker)}_model`]),
    }));
  const personaIds = [str(row.questioner_persona), str(row.answerer_persona)].filter(
    (id): id is string => id !== undefined,
  );
  const quality: Record<string, number> = {};
  for (const [column, key] of [
    ['quality_score', 'score'],
    ['distinct_1', 'distinct1'],
    ['distinct_2', 'distinct2'],
    ['repetition_ratio', 'repetitionRatio'],
    ['total_tokens', 'totalTokens'],
    ['truncated_turns', 'truncatedTurns'],
    ['discarded_turns', 'discardedTurns'],
  ] as const) {
    const value = typeof row[column] === 'bigint' ? Number(row[column]) : num(row[column]);
    if (value !== undefined) quality[key] = value;
  }
  let metadata: Record<string, unknown> | undefined;
  if (typeof row.topic_metadata === 'string') {
    try {
      const parsed = JSON.parse(row.topic_metadata) as unknown;
      if (isObject(parsed)) metadata = parsed;
    } catch {
      metadata = undefined;
    }
  }
  const time = (value: unknown) => (value instanceof Date ? value.getTime() : num(value));
  const cost = typeof row.cost_micros === 'bigint' ? Number(row.cost_micros) : num(row.cost_micros);
  const status = (str(row.status) as ConversationStatus | undefined) ?? 'ended';
  const title = str(row.topic_title) ?? turnList[0]?.text.slice(0, 160) ?? '';
  return {
    id: str(row.id) ?? fallbackId,
    title,
    status,
    state: status,
    turns: turnList.length,
    providers: [
      ...new Set([str(row.questioner_provider), str(row.answerer_provider)].filter((p): p is string => !!p)),
    ],
    startedAt: time(row.started_at),
    endedAt: time(row.ended_at),
    ...(str(row.termination_reason) ? { terminationReason: str(row.termination_reason) } : {}),
    ...(quality.score !== undefined ? { qualityScore: quality.score } : {}),
    ...(personaIds.length > 0 ? { persona: [...new Set(personaIds)].join(' / '), personaIds } : {}),
    ...(str(row.style) ? { style: str(row.style) } : {}),
    ...(cost !== undefined ? { costMicros: cost } : {}),
    ...(typeof row.simulated === 'boolean' ? { simulated: row.simulated } : {}),
    topic: {
      title,
      ...(str(row.topic_id) ? { id: str(row.topic_id) } : {}),
      ...(str(row.topic_source) ? { source: str(row.topic_source) } : {}),
      ...(str(row.topic_url) ? { url: str(row.topic_url) } : {}),
      ...(metadata ? { metadata } : {}),
    },
    ...(all[0]?.speaker === 'system' ? { system: all[0].text } : {}),
    turnList,
    ...(Object.keys(quality).length > 0 ? { quality } : {}),
    history: [],
    format: 'parquet',
  };
}
