// One conversation: the dialogue as chat (speaker, provider and model, tokens, latency, stop reason and
// cost per turn), its quality metrics and termination reason, and its event history. Live while it runs.
import { getJson } from './app.js';
import { h, replace } from './dom.js';
import { count, fixed, money, ms, reason, time } from './format.js';

const QUALITY_LABELS = {
  score: 'quality score',
  judgeScore: 'judge score',
  distinct1: 'distinct-1',
  distinct2: 'distinct-2',
  repetitionRatio: 'repetition ratio',
  meanTurnLength: 'mean turn length (words)',
  totalTokens: 'total tokens',
  meanLatencyMs: 'mean latency (ms)',
  turns: 'turns',
  truncatedTurns: 'truncated turns',
  discardedTurns: 'discarded turns',
  'factors.termination': 'factor: termination',
  'factors.truncation': 'factor: truncation',
};

function turnMeta(t) {
  const parts = [];
  if (t.provider) parts.push(t.model ? `${t.provider} · ${t.model}` : t.provider);
  if (t.inputTokens !== undefined || t.outputTokens !== undefined)
    parts.push(`${count(t.inputTokens)} in / ${count(t.outputTokens)} out tokens`);
  if (t.latencyMs !== undefined) parts.push(ms(t.latencyMs));
  if (t.attempts && t.attempts > 1) parts.push(`${t.attempts} attempts`);
  if (t.stopReason) parts.push(`stop: ${t.stopReason}`);
  if (t.truncated) parts.push('truncated at the token limit');
  if (t.costMicros !== undefined) parts.push(money(t.costMicros));
  return parts;
}

function speakerName(t) {
  if (t.role) return t.role;
  return t.speaker;
}

function bubble(t) {
  return h(
    'article',
    { class: `turn ${t.speaker}${t.discarded ? ' discarded' : ''}`, 'data-index': t.index },
    h(
      'header',
      {},
      h('span', { class: 'speaker' }, speakerName(t)),
      h('span', { class: 'turn-no' }, `#${t.index}`),
      t.discarded
        ? h('span', { class: 'badge s-failed' }, `discarded${t.discardReason ? `: ${t.discardReason}` : ''}`)
        : null,
    ),
    h('div', { class: 'text' }, t.text),
    h(
      'footer',
      {},
      turnMeta(t).map((p) => h('span', {}, p)),
    ),
  );
}

function facts(c) {
  const rows = [
    ['status', c.status === 'active' ? `running (${c.state})` : c.status],
    [
      'termination reason',
      c.terminationReason ? reason(c.terminationReason) : c.status === 'active' ? 'still running' : '—',
    ],
    ['providers', (c.providers ?? []).join(' ↔ ') || '—'],
    ['turns', count(c.turns)],
    ['started', time(c.startedAt)],
    ['ended', time(c.endedAt)],
    ['cost', c.costMicros === undefined ? 'not reported' : money(c.costMicros)],
  ];
  if (c.topic?.source) rows.push(['source', c.topic.source]);
  if (c.persona) rows.push(['persona', c.persona]);
  for (const [key, value] of Object.entries(c.topic?.metadata ?? {})) {
    rows.push([`topic ${key}`, typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  if (c.style) rows.push(['style', c.style]);
  if (c.simulated) rows.push(['simulated', 'yes: not real model output']);
  if (c.location) rows.push(['file', `${c.location.file}:${c.location.line}`]);
  if (c.format) rows.push(['format', c.format]);
  return h(
    'table',
    { class: 'facts' },
    rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))),
  );
}

function qualityTable(c) {
  const q = { ...(c.quality ?? {}) };
  if (c.judgeScore !== undefined) q.judgeScore = c.judgeScore;
  const keys = Object.keys(q);
  if (keys.length === 0)
    return h(
      'p',
      { class: 'empty' },
      c.status === 'active' ? 'Scored when the conversation ends.' : 'No quality metrics in this record.',
    );
  return h(
    'table',
    { class: 'facts' },
    keys.map((k) =>
      h(
        'tr',
        {},
        h('th', {}, QUALITY_LABELS[k] ?? k),
        h('td', { class: 'num' }, Number.isInteger(q[k]) ? count(q[k]) : fixed(q[k], 3)),
      ),
    ),
  );
}

function personaList(c) {
  const entries = Object.entries(c.personas ?? {}).filter(([, text]) => text);
  if (entries.length === 0) return null;
  return [
    h('h2', {}, 'system prompts'),
    entries.map(([side, text]) =>
      h('details', { class: 'persona' }, h('summary', {}, side), h('p', { class: 'prompt' }, text)),
    ),
  ];
}

function historyList(c) {
  if (!c.history || c.history.length === 0)
    return h('p', { class: 'empty' }, 'No event history (datasets keep only the finished record).');
  return h(
    'ol',
    { class: 'history' },
    c.history.map((e) =>
      h(
        'li',
        { class: `h-${e.kind}` },
        h('span', { class: 'dim' }, time(e.at)),
        ' ',
        h('span', { class: 'kind' }, e.kind),
        ' ',
        e.label,
      ),
    ),
  );
}

export async function renderConversation(app, id, mode) {
  async function load() {
    const c = await getJson(`/api/conversations/${encodeURIComponent(id)}`);
    if (!c) {
      replace(
        app,
        h(
          'p',
          { class: 'empty' },
          `No conversation ${id} here`,
          mode === 'live'
            ? ' (the dashboard keeps the conversations in flight and the most recent finished ones).'
            : '.',
        ),
        h('p', {}, h('a', { href: '/' }, '← back')),
      );
      return undefined;
    }
    const topicTitle = c.topic?.url
      ? h('a', { href: c.topic.url, rel: 'noreferrer noopener', target: '_blank' }, c.topic.title || c.id)
      : c.topic?.title || c.title || c.id;
    replace(
      app,
      h(
        'p',
        { class: 'crumbs' },
        h('a', { href: '/' }, mode === 'live' ? '← dashboard' : '← dataset'),
        ' ',
        h('code', {}, c.id),
      ),
      h('h1', { class: 'topic', id: 'topic' }, topicTitle),
      h(
        'div',
        { class: 'conversation' },
        h(
          'div',
          { class: 'chat', id: 'chat' },
          c.system
            ? h(
                'article',
                { class: 'turn system' },
                h('header', {}, h('span', { class: 'speaker' }, 'system')),
                h('div', { class: 'text' }, c.system),
              )
            : null,
          c.turnList.length === 0 ? h('p', { class: 'empty' }, 'No turn yet.') : c.turnList.map(bubble),
          c.error ? h('p', { class: 'error' }, `${c.error.code}: ${c.error.message}`) : null,
          c.status === 'active' ? h('p', { class: 'dim typing' }, `${c.state}…`) : null,
        ),
        h(
          'aside',
          {},
          h('h2', {}, 'conversation'),
          facts(c),
          h('h2', {}, 'quality'),
          qualityTable(c),
          personaList(c),
          h('h2', {}, 'event history'),
          historyList(c),
        ),
      ),
    );
    return c;
  }
  const first = await load();
  if (mode !== 'live' || !first) return;
  // Live: reload when this conversation changes, at most a few times a second.
  let timer;
  const events = new EventSource('/api/stream');
  const live = document.getElementById('live');
  events.addEventListener('open', () => {
    live.hidden = false;
  });
  events.addEventListener('delta', (e) => {
    const delta = JSON.parse(e.data);
    const changed = delta.type === 'turn' ? delta.id : (delta.conversation?.id ?? delta.id);
    if (changed !== id || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      load().catch((error) => console.warn('chimera: could not reload the conversation', error));
    }, 250);
  });
}
