// Charts: uPlot (served from the package) for time series, plain elements for bars.
import { bar, h } from './dom.js';

const uPlot = globalThis.uPlot;

/** A time-series chart that keeps its instance so live updates only set data. */
export function timeSeries(container, { title, series, height = 180 }) {
  const width = Math.max(320, container.clientWidth || 600);
  const plot = new uPlot(
    {
      title,
      width,
      height,
      scales: { x: { time: true } },
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          spanGaps: s.spanGaps ?? false,
          points: { show: false },
        })),
      ],
      axes: [{}, { size: 50 }],
    },
    [[], ...series.map(() => [])],
    container,
  );
  const resize = () => plot.setSize({ width: Math.max(320, container.clientWidth || width), height });
  window.addEventListener('resize', resize);
  return { set: (data) => plot.setData(data), plot };
}

/** Horizontal bars of named counts, largest first. */
export function countBars(counts, { labels = (k) => k, limit = 12 } = {}) {
  const entries = Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return h('p', { class: 'empty' }, 'nothing yet');
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const max = entries[0][1];
  return h(
    'table',
    { class: 'bars' },
    entries
      .slice(0, limit)
      .map(([key, n]) =>
        h(
          'tr',
          {},
          h('th', {}, labels(key)),
          h(
            'td',
            { class: 'bar-cell' },
            bar(max ? n / max : 0, `k-${String(key).replace(/[^a-z0-9_-]/gi, '')}`),
          ),
          h('td', { class: 'num' }, n.toLocaleString('en-US')),
          h('td', { class: 'num dim' }, `${Math.round((n / total) * 100)}%`),
        ),
      ),
  );
}

/** A histogram as vertical bars with the bins' lower bounds under them. */
export function histogram(hist, { format = (v) => String(v) } = {}) {
  if (!hist || hist.counts.every((c) => c === 0)) return h('p', { class: 'empty' }, 'no values');
  const max = Math.max(...hist.counts);
  return h(
    'div',
    { class: 'histogram' },
    hist.counts.map((c, i) => {
      const column = h('span', { class: 'column', title: `${format(hist.bins[i])}+: ${c}` });
      column.style.height = `${max ? (c / max) * 100 : 0}%`;
      return h(
        'div',
        { class: 'bin' },
        h('div', { class: 'column-box' }, column),
        h('span', { class: 'bin-label' }, format(hist.bins[i])),
      );
    }),
  );
}

/** Stacked columns of conversations finished per minute, one colour per termination reason. */
export function stackedMinutes(minutes, reasons, labelOf) {
  if (!minutes || minutes.length === 0)
    return h('p', { class: 'empty' }, 'no conversation has finished in the last hour');
  const totals = minutes.map((m) => Object.values(m.byReason).reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...totals);
  const columns = minutes.slice(-60).map((m, i) => {
    const stack = h('div', {
      class: 'stack',
      title: `${new Date(m.at).toLocaleTimeString('en-GB')}: ${totals[i]}`,
    });
    stack.style.height = `${(totals[i] / max) * 100}%`;
    for (const reason of reasons) {
      const n = m.byReason[reason] ?? 0;
      if (!n) continue;
      const part = h('span', { class: `part k-${reason}` });
      part.style.height = `${(n / totals[i]) * 100}%`;
      stack.appendChild(part);
    }
    return h('div', { class: 'minute' }, stack);
  });
  return h(
    'div',
    {},
    h('div', { class: 'minutes' }, columns),
    h(
      'div',
      { class: 'legend' },
      reasons.map((r) => h('span', { class: 'key' }, h('span', { class: `swatch k-${r}` }), labelOf(r))),
    ),
  );
}
