/**
 * The columns of the Parquet dataset: one row per conversation, the conversation as a `messages` list of
 * `{role, content}` (the layout TRL's SFT trainer and `tokenizer.apply_chat_template` take), then
 * provenance and quality columns to filter and slice by. Each column is described three ways that must
 * agree: the Parquet schema element, the Hugging Face `features` entry in the dataset card, and the value
 * taken from a record.
 */
import type { SchemaElement } from 'hyparquet';
import type { ConversationRecord, Speaker } from '../../events.js';
import { chatMessages } from '../formats.js';

export type Row = Record<string, unknown>;

interface Column {
  name: string;
  /** The Parquet leaf type; `messages` is the one nested column and is described separately. */
  parquet: Pick<SchemaElement, 'type' | 'converted_type'>;
  /** The Hugging Face `dtype`. */
  dtype: string;
  required: boolean;
  value: (record: ConversationRecord, options: RowOptions) => unknown;
}

export interface RowOptions {
  /** Lead `messages` with the answerer's persona as a system message. @default true */
  system?: boolean;
}

const STRING = { type: 'BYTE_ARRAY', converted_type: 'UTF8' } as const;
const DOUBLE = { type: 'DOUBLE' } as const;
const INT32 = { type: 'INT32' } as const;
const INT64 = { type: 'INT64' } as const;
const BOOLEAN = { type: 'BOOLEAN' } as const;
const TIMESTAMP = { type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' } as const;

function modelOf(record: ConversationRecord, speaker: Speaker): string | null {
  return record.turns.find((t) => t.speaker === speaker)?.model ?? null;
}

/**
 * The conversation's cost in integer micro-units of its currency, when the record carries one: `cost` as a
 * whole number, or an object with a whole-number `totalMicros`. Records made before costs were tracked
 * have none, and the column is null.
 */
export function costMicros(record: ConversationRecord): number | null {
  const cost = (record as { cost?: unknown }).cost;
  if (typeof cost === 'number' && Number.isSafeInteger(cost)) return cost;
  if (cost !== null && typeof cost === 'object') {
    const total = (cost as { totalMicros?: unknown }).totalMicros;
    if (typeof total === 'number' && Number.isSafeInteger(total)) return total;
  }
  return null;
}

export const COLUMNS: readonly Column[] = [
  { name: 'id', parquet: STRING, dtype: 'string', required: true, value: (r) => r.conversationId },
  { name: 'topic_id', parquet: STRING, dtype: 'string', required: true, value: (r) => r.topic.id },
  { name: 'topic_title', parquet: STRING, dtype: 'string', required: true, value: (r) => r.topic.title },
  {
    name: 'topic_source',
    parquet: STRING,
    dtype: 'string',
    required: false,
    value: (r) => r.topic.source ?? null,
  },
  { name: 'topic_url', parquet: STRING, dtype: 'string', required: false, value: (r) => r.topic.url ?? null },
  {
    name: 'topic_metadata',
    parquet: STRING,
    dtype: 'string',
    required: false,
    value: (r) => (r.topic.metadata ? JSON.stringify(r.topic.metadata) : null),
  },
  { name: 'status', parquet: STRING, dtype: 'string', required: true, value: (r) => r.status },
  {
    name: 'termination_reason',
    parquet: STRING,
    dtype: 'string',
    required: true,
    value: (r) => r.terminationReason,
  },
  {
    name: 'questioner_provider',
    parquet: STRING,
    dtype: 'string',
    required: true,
    value: (r) => r.providers.questioner,
  },
  {
    name: 'questioner_model',
    parquet: STRING,
    dtype: 'string',
    required: false,
    value: (r) => modelOf(r, 'questioner'),
  },
  {
    name: 'answerer_provider',
    parquet: STRING,
    dtype: 'string',
    required: true,
    value: (r) => r.providers.answerer,
  },
  {
    name: 'answerer_model',
    parquet: STRING,
    dtype: 'string',
    required: false,
    value: (r) => modelOf(r, 'answerer'),
  },
  {
    name: 'questioner_persona',
    parquet: STRING,
    dtype: 'string',
    required: false,
    value: (r) => r.provenance?.personas.questioner.id ?? null,
  },
  {
    name: 'answerer_persona',
    parquet: STRING,
    dtype: 'string',
    required: false,
    value: (r) => r.provenance?.personas.answerer.id ?? null,
  },
  {
    name: 'style',
    parquet: STRING,
    dtype: 'string',
    required: false,
    value: (r) => r.provenance?.style.id ?? null,
  },
  {
    name: 'temperature',
    parquet: DOUBLE,
    dtype: 'float64',
    required: false,
    value: (r) => r.provenance?.temperature ?? r.turns[0]?.temperature ?? null,
  },
  {
    name: 'seed',
    parquet: INT64,
    dtype: 'int64',
    required: false,
    value: (r) => (r.provenance ? BigInt(r.provenance.seed) : null),
  },
  {
    name: 'run_id',
    parquet: STRING,
    dtype: 'string',
    required: false,
    value: (r) => r.provenance?.runId ?? null,
  },
  {
    name: 'chimera_version',
    parquet: STRING,
    dtype: 'string',
    required: false,
    value: (r) => r.provenance?.chimeraVersion ?? null,
  },
  {
    name: 'machine_version',
    parquet: STRING,
    dtype: 'string',
    required: false,
    value: (r) => r.provenance?.machineVersion ?? null,
  },
  {
    name: 'config_hash',
    parquet: STRING,
    dtype: 'string',
    required: false,
    value: (r) => r.provenance?.configHash ?? null,
  },
  { name: 'num_turns', parquet: INT32, dtype: 'int32', required: true, value: (r) => r.turns.length },
  {
    name: 'truncated_turns',
    parquet: INT32,
    dtype: 'int32',
    required: true,
    value: (r) => r.turns.filter((t) => t.truncated === true).length,
  },
  {
    name: 'discarded_turns',
    parquet: INT32,
    dtype: 'int32',
    required: true,
    value: (r) => r.discarded?.length ?? 0,
  },
  { name: 'quality_score', parquet: DOUBLE, dtype: 'float64', required: true, value: (r) => r.quality.score },
  {
    name: 'judge_score',
    parquet: DOUBLE,
    dtype: 'float64',
    required: false,
    // The judge's overall score (1-5); null when no judge ran or it left the conversation unjudged.
    value: (r) => (r.quality.judge?.status === 'judged' ? (r.quality.judge.overall ?? null) : null),
  },
  {
    name: 'distinct_1',
    parquet: DOUBLE,
    dtype: 'float64',
    required: true,
    value: (r) => r.quality.distinct1,
  },
  {
    name: 'distinct_2',
    parquet: DOUBLE,
    dtype: 'float64',
    required: true,
    value: (r) => r.quality.distinct2,
  },
  {
    name: 'repetition_ratio',
    parquet: DOUBLE,
    dtype: 'float64',
    required: true,
    value: (r) => r.quality.repetitionRatio,
  },
  {
    name: 'total_tokens',
    parquet: INT64,
    dtype: 'int64',
    required: true,
    value: (r) => BigInt(r.quality.totalTokens),
  },
  {
    name: 'cost_micros',
    parquet: INT64,
    dtype: 'int64',
    required: false,
    value: (r) => {
      const micros = costMicros(r);
      return micros === null ? null : BigInt(micros);
    },
  },
  { name: 'simulated', parquet: BOOLEAN, dtype: 'bool', required: true, value: (r) => r.simulated },
  {
    name: 'started_at',
    parquet: TIMESTAMP,
    dtype: 'timestamp[ms, tz=UTC]',
    required: true,
    value: (r) => BigInt(r.startedAt),
  },
  {
    name: 'ended_at',
    parquet: TIMESTAMP,
    dtype: 'timestamp[ms, tz=UTC]',
    required: true,
    value: (r) => BigInt(r.endedAt),
  },
];

/** Where `messages` sits among the columns: right after `id`, as chat datasets on the Hub have it. */
const MESSAGES_AFTER = 'id';

/** The Parquet schema: a root, `messages` as a standard three-level LIST of a {role, content} struct. */
export function parquetSchema(): SchemaElement[] {
  const schema: SchemaElement[] = [{ name: 'schema', num_children: COLUMNS.length + 1 }];
  for (const column of COLUMNS) {
    schema.push({
      name: column.name,
      ...column.parquet,
      repetition_type: column.required ? 'REQUIRED' : 'OPTIONAL',
    } as SchemaElement);
    if (column.name === MESSAGES_AFTER) {
      schema.push(
        { name: 'messages', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', repetition_type: 'REQUIRED', num_children: 2 },
        { name: 'role', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'content', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      );
    }
  }
  return schema;
}

/** Column names in file order. */
export function columnNames(): string[] {
  const names: string[] = [];
  for (const column of COLUMNS) {
    names.push(column.name);
    if (column.name === MESSAGES_AFTER) names.push('messages');
  }
  return names;
}

/** The Hugging Face `features` list of the dataset card, in file order. */
export function hubFeatures(): unknown[] {
  const features: unknown[] = [];
  for (const column of COLUMNS) {
    features.push({ name: column.name, dtype: column.dtype });
    if (column.name === MESSAGES_AFTER) {
      features.push({
        name: 'messages',
        list: [
          { name: 'role', dtype: 'string' },
          { name: 'content', dtype: 'string' },
        ],
      });
    }
  }
  return features;
}

/** A record as a row: every column's value, `messages` included. */
export function toRow(record: ConversationRecord, options: RowOptions = {}): Row {
  const row: Row = {};
  for (const column of COLUMNS) row[column.name] = column.value(record, options);
  row.messages = chatMessages(record, { system: options.system });
  return row;
}
