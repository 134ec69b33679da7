// The dataset viewer: summary charts, search and filters, and a page of conversations at a time; the
// filters live in the address, so a filtered view can be shared and the back button works.
import { getJson } from './app.js';
import { countBars, histogram } from './charts.js';
import { h, replace } from './dom.js';
import { count, fixed, money, reason } from './format.js';

const PAGE = 100;
const CHOICES = [
  ['reason', 'reasons', 'termination reason', reason],
  ['provider', 'providers', 'provider', (v) => v],
  ['persona', 'personas', 'persona', (v) => v],
  ['style', 'styles', 'style', (v) => v],
  ['status', 'statuses', 'status', (v) => v],
  ['format', 'formats', 'format', (v) => v],
];
const RANGES = [
  ['Quality', 'quality', '0.01'],
  ['Judge', 'judge', '0.01'],
  ['Turns', 'turns', '1'],
  ['Chars', 'chars', '1'],
];

function select(name, label, counts, labelOf, value) {
  const keys = Object.keys(counts ?? {}).sort();
  if (keys.length === 0) return null;
  return h(
    'label',
    {},
    label,
    h(
      'select',
      { name, 'data-filter': name },
      h('option', { value: '' }, 'any'),
      keys.map((k) =>
        h('option', { value: k, selected: k === value }, `${labelOf(k)} (${count(counts[k])})`),
      ),
    ),
  );
}

const COLUMNS = [
  [
    'topic / first question',
    (r) => h('a', { href: `/c/${encodeURIComponent(r.id)}`, class: 'conv-link' }, r.title || r.id),
  ],
  ['reason', (r) => (r.reason ? reason(r.reason) : '—'), (s) => Object.keys(s.reasons).length > 0],
  ['quality', (r) => fixed(r.quality), (s) => s.quality, 'num'],
  ['judge', (r) => fixed(r.judge), (s) => s.judge, 'num'],
  ['turns', (r) => count(r.turns), null, 'num'],
  ['chars', (r) => count(r.chars), null, 'num'],
  ['providers', (r) => r.providers.join(' ↔ ') || '—', (s) => Object.keys(s.providers).length > 0],
  [
    'personas',
    (r) => (r.personas.length ? r.personas.join(' / ') : '—'),
    (s) => Object.keys(s.personas).length > 0,
  ],
  ['style', (r) => r.style ?? '—', (s) => Object.keys(s.styles).length > 0],
  [
    'cost',
    (r) => (r.costMicros === undefined ? '—' : money(r.costMicros)),
    (s) => s.totalCostMicros !== undefined,
    'num',
  ],
];

/** The table of one page; columns the dataset has no value for are left out. */
function resultsTable(page, summary) {
  if (page.rows.length === 0) return h('p', { class: 'empty' }, 'No conversation matches these filters.');
  const columns = COLUMNS.filter(([, , shown]) => !shown || shown(summary));
  return h(
    'table',
    { class: 'list', id: 'results' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map(([title]) => h('th', {}, title)),
      ),
    ),
    h(
      'tbody',
      {},
      page.rows.map((r) =>
        h(
          'tr',
          { 'data-id': r.id },
          columns.map(([, cell, , cls]) => h('td', { class: cls }, cell(r))),
        ),
      ),
    ),
  );
}

export async function renderViewer(app) {
  const summary = await getJson('/api/dataset/summary');
  const params = new URLSearchParams(location.search);
  const skipped = summary.files.reduce((n, f) => n + f.skipped, 0);
  const search = h('input', {
    type: 'search',
    name: 'q',
    id: 'search',
    placeholder: 'search titles, ids, sources',
    value: params.get('q') ?? '',
  });
  const sort = h(
    'select',
    { name: 'sort', id: 'sort' },
    [
      ['file', 'file order'],
      ['-quality', 'quality, best first'],
      ['quality', 'quality, worst first'],
      ['-judge', 'judge score, best first'],
      ['-turns', 'most turns'],
      ['turns', 'fewest turns'],
      ['-chars', 'longest'],
      ['chars', 'shortest'],
    ].map(([v, l]) => h('option', { value: v, selected: params.get('sort') === v }, l)),
  );
  const ranges = RANGES.filter(([, key]) => key !== 'judge' || summary.judge).map(([label, _key, step]) =>
    h(
      'label',
      { class: 'range' },
      label,
      h('input', {
        type: 'number',
        step,
        name: `min${label}`,
        'data-filter': `min${label}`,
        placeholder: 'min',
        value: params.get(`min${label}`) ?? '',
      }),
      h('input', {
        type: 'number',
        step,
        name: `max${label}`,
        'data-filter': `max${label}`,
        placeholder: 'max',
        value: params.get(`max${label}`) ?? '',
      }),
    ),
  );
  const filters = h(
    'div',
    { class: 'filters', id: 'filters' },
    search,
    CHOICES.map(([name, key, label, labelOf]) =>
      select(name, label, summary[key], labelOf, params.get(name)),
    ),
    ranges,
    h('label', {}, 'sort', sort),
  );
  const status = h('p', { class: 'dim', id: 'matched' });
  const results = h('div', {});
  const pager = h('div', { class: 'pager' });
  replace(
    app,
    h(
      'div',
      { class: 'cards' },
      h(
        'div',
        { class: 'card' },
        h('div', { class: 'card-label' }, 'conversations'),
        h('div', { class: 'card-value', id: 'total' }, count(summary.conversations)),
        h(
          'div',
          { class: 'card-hint' },
          `indexed in ${count(summary.indexMs)} ms from ${summary.files.length} file${summary.files.length === 1 ? '' : 's'}`,
        ),
      ),
      h(
        'div',
        { class: 'card' },
        h('div', { class: 'card-label' }, 'mean quality'),
        h('div', { class: 'card-value' }, fixed(summary.meanQuality)),
      ),
      h(
        'div',
        { class: 'card' },
        h('div', { class: 'card-label' }, 'mean turns'),
        h('div', { class: 'card-value' }, fixed(summary.meanTurns, 1)),
      ),
      h(
        'div',
        { class: 'card' },
        h('div', { class: 'card-label' }, 'cost'),
        h(
          'div',
          { class: 'card-value' },
          summary.totalCostMicros === undefined ? '—' : money(summary.totalCostMicros),
        ),
        h(
          'div',
          { class: 'card-hint' },
          summary.totalCostMicros === undefined ? 'not in these records' : 'sum of per-turn cost',
        ),
      ),
      h(
        'div',
        { class: 'card' },
        h('div', { class: 'card-label' }, 'unreadable lines'),
        h('div', { class: `card-value ${skipped ? 'bad' : ''}` }, count(skipped)),
        h(
          'div',
          { class: 'card-hint' },
          skipped
            ? `e.g. ${summary.files
                .filter((f) => f.skipped)
                .map((f) => `${f.path.split('/').pop()}:${f.skippedLines.slice(0, 3).join(',')}`)
                .join('; ')}`
            : 'every line read',
        ),
      ),
      summary.simulated
        ? h(
            'div',
            { class: 'card warn' },
            h('div', { class: 'card-label' }, 'simulated'),
            h('div', { class: 'card-value' }, count(summary.simulated)),
            h('div', { class: 'card-hint' }, 'not real model output'),
          )
        : null,
    ),
    h(
      'div',
      { class: 'charts three' },
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, 'termination reasons'),
        countBars(summary.reasons, { labels: reason }),
      ),
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, 'quality score'),
        histogram(summary.quality, { format: (v) => v.toFixed(1) }),
      ),
      h('section', { class: 'panel' }, h('h2', {}, 'turns per conversation'), histogram(summary.turns)),
    ),
    h('section', { class: 'panel' }, h('h2', {}, 'conversations'), filters, status, results, pager),
  );

  let offset = Number(params.get('offset') ?? 0) || 0;
  let seq = 0;
  async function refresh() {
    const query = new URLSearchParams();
    if (search.value.trim()) query.set('q', search.value.trim());
    for (const input of filters.querySelectorAll('[data-filter]'))
      if (input.value !== '') query.set(input.name, input.value);
    if (sort.value !== 'file') query.set('sort', sort.value);
    const shown = new URLSearchParams(query);
    if (offset) shown.set('offset', String(offset));
    history.replaceState(null, '', `/${shown.size ? `?${shown}` : ''}`);
    query.set('offset', String(offset));
    query.set('limit', String(PAGE));
    const mine = ++seq;
    const page = await getJson(`/api/dataset/conversations?${query}`);
    if (mine !== seq) return;
    status.textContent = `${count(page.matched)} of ${count(page.total)} conversations match`;
    status.dataset.matched = String(page.matched);
    replace(results, resultsTable(page, summary));
    replace(
      pager,
      h(
        'button',
        {
          type: 'button',
          disabled: offset === 0,
          onclick: () => {
            offset = Math.max(0, offset - PAGE);
            refresh().catch((error) => console.warn('chimera: could not load the page', error));
          },
        },
        '← previous',
      ),
      h(
        'span',
        {},
        page.matched ? ` ${count(offset + 1)}–${count(Math.min(page.matched, offset + PAGE))} ` : ' ',
      ),
      h(
        'button',
        {
          type: 'button',
          disabled: offset + PAGE >= page.matched,
          onclick: () => {
            offset += PAGE;
            refresh().catch((error) => console.warn('chimera: could not load the page', error));
          },
        },
        'next →',
      ),
    );
  }
  let debounce;
  const changed = () => {
    offset = 0;
    clearTimeout(debounce);
    debounce = setTimeout(refresh, 150);
  };
  filters.addEventListener('input', changed);
  filters.addEventListener('change', changed);
  await refresh();
}
