/**
 * The viewer's API over a {@link DatasetIndex}: what the dataset holds (summary charts, filter choices),
 * a filtered, sorted page of conversations, and one conversation read from its file.
 */
import { type DatasetFilter, type DatasetIndex, type DatasetSort, SORTS } from './dataset/dataset-index.js';
import type { UiBackend } from './server.js';

function list(query: URLSearchParams, name: string): string[] | undefined {
  const values = query
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  return values.length ? values : undefined;
}

function number(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw.trim() === '') return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/** A query string as a filter; unknown or malformed parameters are ignored, never an error page. */
export function filterFrom(query: URLSearchParams): DatasetFilter {
  const filter: DatasetFilter = {};
  const q = query.get('q');
  if (q) filter.q = q.slice(0, 500);
  for (const name of ['reason', 'status', 'provider', 'persona', 'style', 'format'] as const) {
    const values = list(query, name);
    if (values) filter[name] = values;
  }
  for (const name of [
    'minQuality',
    'maxQuality',
    'minJudge',
    'maxJudge',
    'minTurns',
    'maxTurns',
    'minChars',
    'maxChars',
  ] as const) {
    const value = number(query, name);
    if (value !== undefined) filter[name] = value;
  }
  return filter;
}

export function datasetBackend(index: DatasetIndex, title: string): UiBackend {
  return {
    mode: 'dataset',
    title,
    async api(path, query) {
      if (path === 'info') return { mode: 'dataset', title };
      if (path === 'dataset/summary') return index.summary();
      if (path === 'dataset/conversations') {
        const sort = query.get('sort') ?? 'file';
        return index.query(
          filterFrom(query),
          (SORTS as readonly string[]).includes(sort) ? (sort as DatasetSort) : 'file',
          number(query, 'offset') ?? 0,
          number(query, 'limit') ?? 100,
        );
      }
      const match = /^conversations\/(.+)$/.exec(path);
      if (match) return index.read(decodeURIComponent(match[1]!));
      return undefined;
    },
  };
}
