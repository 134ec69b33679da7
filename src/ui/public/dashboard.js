// The live dashboard of a running daemon: figures, charts and the conversations in flight, updated over
// server-sent events (a summary every second, a delta for every changed conversation and new turn).
import { getJson } from './app.js';
import { countBars, stackedMinutes, timeSeries } from './charts.js';
import { bar, h, replace } from './dom.js';
import { ago, count, fixed, money, ms, REASON_LABELS, reason } from './format.js';

const BREAKER_LABELS = { closed: 'closed', halfOpen: 'half-open', open: 'open' };

function card(label, id, hint) {
  return h(
    'div',
    { class: 'card' },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value', id }, '—'),
    hint ? h('div', { class: 'card-hint', id: `${id}-hint` }, hint) : null,
  );
}

function section(title, ...body) {
  return h('section', { class: 'panel' }, h('h2', {}, title), ...body);
}

function conversationRow(c) {
  const state = c.status === 'active' ? c.state || 'starting' : c.status;
  return h(
    'tr',
    { 'data-id': c.id, class: `row status-${c.status}` },
    h('td', {}, h('a', { href: `/c/${encodeURIComponent(c.id)}`, class: 'conv-link' }, c.title || c.id)),
    h('td', {}, h('span', { class: `badge s-${c.status}` }, state)),
    h('td', { class: 'num turns' }, count(c.turns)),
    h('td', {}, (c.providers ?? []).join(' ↔ ')),
    c.status === 'active'
      ? h(
          'td',
          { class: 'preview' },
          c.lastTurn
            ? [h('b', {}, `${c.lastTurn.speaker}: `), c.lastTurn.preview]
            : h('span', { class: 'dim' }, 'waiting for the first turn'),
        )
      : h(
          'td',
          {},
          reason(c.terminationReason),
          c.qualityScore !== undefined
            ? h('span', { class: 'dim' }, ` · quality ${fixed(c.qualityScore)}`)
            : null,
        ),
    h('td', { class: 'dim' }, ago(c.updatedAt ?? c.endedAt)),
  );
}

function conversationTable(rows, empty) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    { class: 'list' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'topic'),
        h('th', {}, 'state'),
        h('th', {}, 'turns'),
        h('th', {}, 'providers'),
        h('th', {}, 'newest turn / outcome'),
        h('th', {}, 'updated'),
      ),
    ),
    h('tbody', {}, rows.map(conversationRow)),
  );
}

function providerTable(providers) {
  const names = Object.keys(providers ?? {}).sort();
  if (names.length === 0) return h('p', { class: 'empty' }, 'no provider call yet');
  return h(
    'table',
    { class: 'list providers' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [
          'provider',
          'breaker',
          'requests',
          'errors',
          'retries',
          'p50',
          'p90',
          'p99',
          'rate limit (last minute)',
        ].map((t) => h('th', {}, t)),
      ),
    ),
    h(
      'tbody',
      {},
      names.map((name) => {
        const p = providers[name];
        const rl = p.rateLimit;
        return h(
          'tr',
          {},
          h('th', {}, name),
          h(
            'td',
            {},
            h('span', { class: `badge b-${p.breaker ?? 'closed'}` }, BREAKER_LABELS[p.breaker] ?? 'closed'),
          ),
          h('td', { class: 'num' }, count(p.requests)),
          h('td', { class: `num ${p.errors ? 'bad' : ''}` }, count(p.errors)),
          h('td', { class: 'num' }, count(p.retries)),
          h('td', { class: 'num' }, ms(p.latency?.p50)),
          h('td', { class: 'num' }, ms(p.latency?.p90)),
          h('td', { class: 'num' }, ms(p.latency?.p99)),
          h(
            'td',
            {},
            rl
              ? [
                  bar(rl.rpm ? rl.requestsInUse / rl.rpm : 0),
                  ` ${count(Math.round(rl.requestsInUse))} / ${count(rl.rpm)} rpm`,
                ]
              : h('span', { class: 'dim' }, '—'),
          ),
        );
      }),
    ),
  );
}

function spendPanel(spend) {
  if (!spend) {
    return h(
      'div',
      { class: 'slot empty-slot' },
      h('div', { class: 'card-label' }, 'spend'),
      h(
        'p',
        {},
        'Not reported by this daemon: spend so far, per hour, projected total and the cap appear here once cost tracking reports them.',
      ),
    );
  }
  const { currency = 'USD' } = spend;
  return h(
    'div',
    { class: 'slot' },
    h('div', { class: 'card-label' }, 'spend'),
    h('div', { class: 'card-value', id: 'spend-total' }, money(spend.totalMicros, currency)),
    h(
      'div',
      { class: 'card-hint' },
      `per hour ${money(spend.perHourMicros, currency)} · projected ${money(spend.projectedTotalMicros, currency)}`,
    ),
    spend.capMicros
      ? [
          bar(spend.totalMicros / spend.capMicros, spend.totalMicros >= spend.capMicros ? 'over' : ''),
          h('div', { class: 'card-hint' }, `cap ${money(spend.capMicros, currency)}`),
        ]
      : null,
  );
}

function batchesPanel(batches) {
  if (!batches) {
    return h(
      'div',
      { class: 'slot empty-slot' },
      h('div', { class: 'card-label' }, 'batches out'),
      h('p', {}, 'No provider batch jobs: batch mode reports them here.'),
    );
  }
  return h(
    'div',
    { class: 'slot' },
    h('div', { class: 'card-label' }, 'batches out'),
    h('div', { class: 'card-value' }, count(batches.outstanding)),
    h(
      'div',
      { class: 'card-hint' },
      `${count(batches.requestsOutstanding)} requests · ${count(batches.completed)} completed · ${count(batches.failed)} failed`,
    ),
  );
}

export function renderDashboard(app) {
  const conversations = new Map();
  const cards = h(
    'div',
    { class: 'cards' },
    card('in flight', 'in-flight'),
    card('finished', 'finished'),
    card('turns / s (last minute)', 'tps'),
    card('turns', 'turns'),
    card('outbox backlog', 'outbox', 'events saved, not yet on the bus'),
  );
  const slots = h('div', { class: 'slots', id: 'slots' });
  const throughput = h('div', { class: 'chart', id: 'chart-throughput' });
  const quality = h('div', { class: 'chart', id: 'chart-quality' });
  const minutes = h('div', { id: 'minutes' });
  const providers = h('div', { id: 'providers' });
  const inFlight = h('div', { id: 'in-flight-list' });
  const finished = h('div', { id: 'finished-list' });
  replace(
    app,
    cards,
    slots,
    h(
      'div',
      { class: 'charts' },
      section('throughput, last hour', throughput),
      section('quality of finished conversations, last hour', quality),
    ),
    section('finished per minute, by termination reason', minutes),
    section('providers', providers),
    section('in flight', inFlight),
    section('recently finished', finished),
  );
  const throughputChart = timeSeries(throughput, {
    title: 'turns / s',
    series: [{ label: 'turns/s', color: '#2563eb' }],
  });
  const qualityChart = timeSeries(quality, {
    title: 'mean quality score',
    series: [{ label: 'quality', color: '#059669', spanGaps: true }],
  });

  let dirty = false;
  function renderLists() {
    dirty = false;
    const all = [...conversations.values()];
    const live = all
      .filter((c) => c.status === 'active')
      .sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
    const done = all
      .filter((c) => c.status !== 'active')
      .sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0))
      .slice(0, 50);
    replace(inFlight, conversationTable(live, 'No conversation in flight.'));
    replace(finished, conversationTable(done, 'No conversation has finished yet.'));
  }
  function scheduleLists() {
    if (dirty) return;
    dirty = true;
    setTimeout(renderLists, 200);
  }

  function renderSummary(s) {
    document.getElementById('in-flight').textContent = count(s.inFlight);
    document.getElementById('finished').textContent = count(s.finished);
    document.getElementById('tps').textContent = fixed(s.turnsPerSecond);
    document.getElementById('turns').textContent = count(s.turns);
    document.getElementById('outbox').textContent =
      s.outboxBacklog === undefined ? '—' : count(s.outboxBacklog);
    replace(
      slots,
      spendPanel(s.spend),
      batchesPanel(s.batches),
      h(
        'div',
        { class: 'slot' },
        h('div', { class: 'card-label' }, 'finished by reason'),
        countBars(s.reasons, { labels: reason }),
      ),
    );
    throughputChart.set([s.series.t, s.series.turnsPerSecond]);
    qualityChart.set([s.series.t, s.series.quality]);
    const reasons = Object.keys(REASON_LABELS).filter((r) => s.finishedPerMinute.some((m) => m.byReason[r]));
    replace(minutes, stackedMinutes(s.finishedPerMinute, reasons, reason));
    replace(providers, providerTable(s.providers));
  }

  getJson('/api/conversations')
    .then((list) => {
      for (const c of list ?? []) if (!conversations.has(c.id)) conversations.set(c.id, c);
      renderLists();
    })
    .catch((error) => console.warn('chimera: could not load the conversations', error));
  const live = document.getElementById('live');
  const events = new EventSource('/api/stream');
  events.addEventListener('open', () => {
    live.hidden = false;
    live.textContent = 'live';
    live.className = 'live';
  });
  events.addEventListener('error', () => {
    live.hidden = false;
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  });
  events.addEventListener('summary', (e) => renderSummary(JSON.parse(e.data)));
  events.addEventListener('delta', (e) => {
    const delta = JSON.parse(e.data);
    if (delta.type === 'conversation') conversations.set(delta.conversation.id, delta.conversation);
    else if (delta.type === 'removed') conversations.delete(delta.id);
    else if (delta.type === 'turn') {
      const c = conversations.get(delta.id);
      if (c) {
        c.turns = Math.max(c.turns, delta.turn.index + 1);
        c.lastTurn = {
          index: delta.turn.index,
          speaker: delta.turn.speaker,
          provider: delta.turn.provider,
          preview: delta.turn.text.slice(0, 280),
        };
      }
    }
    // Bound what the page holds: the newest finished conversations only.
    if (conversations.size > 400) {
      const oldest = [...conversations.values()]
        .filter((c) => c.status !== 'active')
        .sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
      for (const c of oldest.slice(0, conversations.size - 400)) conversations.delete(c.id);
    }
    scheduleLists();
  });
}
