/**
 * What the dataset card says about the data, gathered one record at a time while the shards are written:
 * counts, who talked (providers and models), personas and styles, how conversations ended, and the
 * distributions of quality and (when records carry it) cost.
 */
import type { ConversationRecord } from '../../events.js';
import { costMicros } from './columns.js';

export class DatasetSummary {
  rows = 0;
  simulated = 0;
  turns = 0;
  tokens = 0;
  readonly status = new Map<string, number>();
  readonly models = new Map<string, number>();
  readonly questioners = new Map<string, number>();
  readonly answerers = new Map<string, number>();
  readonly styles = new Map<string, number>();
  readonly endings = new Map<string, number>();
  readonly scores: number[] = [];
  readonly costs: number[] = [];

  add(record: ConversationRecord): void {
    this.rows += 1;
    if (record.simulated) this.simulated += 1;
    this.turns += record.turns.length;
    this.tokens += record.quality.totalTokens;
    bump(this.status, record.status);
    bump(this.endings, record.terminationReason);
    const sides = new Set<string>();
    for (const turn of record.turns) sides.add(`${turn.provider} / ${turn.model}`);
    for (const side of sides) bump(this.models, side);
    bump(this.questioners, record.provenance?.personas.questioner.id ?? '(not recorded)');
    bump(this.answerers, record.provenance?.personas.answerer.id ?? '(not recorded)');
    bump(this.styles, record.provenance?.style.id ?? '(not recorded)');
    this.scores.push(record.quality.score);
    const cost = costMicros(record);
    if (cost !== null) this.costs.push(cost);
  }
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** The value below which `q` of the sorted values lie (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
