// Rollouts list with status and progress; live.
import { api, canOperate } from '../api.js';
import { stacked } from '../charts.js';
import { live } from '../live.js';
import { card, emptyState, errorBox, fmtAgo, fmtNumber, h, mount, pill, throttle } from '../util.js';
import { countsText, partsOf } from './rollout-counts.js';

export function render(main) {
  const list = h('div');
  mount(main, card('Rollouts', list, canOperate() ? h('a', { class: 'btn btn-primary btn-sm', href: '#/rollouts/new', id: 'new-rollout' }, '+ New rollout') : null));

  async function load() {
    try {
      const result = await api('GET', '/api/v1/rollouts', { query: { limit: 100 } });
      const items = result.items ?? result;
      mount(
        list,
        items.length
          ? h(
              'div',
              { class: 'table-wrap' },
              h(
                'table',
                { class: 'table', id: 'rollout-table' },
                h('thead', null, h('tr', null, ['Rollout', 'Status', 'Progress', 'Strategy', 'Devices', 'Created'].map((c) => h('th', null, c)))),
                h(
                  'tbody',
                  null,
                  items.map((r) => {
                    const { parts, total } = partsOf(r.counts);
                    return h(
                      'tr',
                      { class: 'clickable', onclick: () => (window.location.hash = `#/rollouts/${encodeURIComponent(r.id)}`) },
                      h('td', null, h('a', { href: `#/rollouts/${encodeURIComponent(r.id)}` }, r.name || r.id.slice(0, 8)), h('div', { class: 'muted small' }, r.id)),
                      h('td', null, pill(r.status)),
                      h('td', { class: 'cell-progress' }, stacked(parts, total), h('div', { class: 'muted small progress-text' }, total ? countsText(r.counts) : '—')),
                      h('td', null, r.strategy, r.phases?.length > 1 ? h('span', { class: 'muted' }, ` · ${r.phases.length} phases`) : null),
                      h('td', null, fmtNumber(total)),
                      h('td', { class: 'muted' }, fmtAgo(r.createdAt)),
                    );
                  }),
                ),
              ),
            )
          : emptyState('No rollouts yet.'),
      );
    } catch (error) {
      mount(list, errorBox(error));
    }
  }
  load();
  const refresh = throttle(load, 1000);
  // Execution events move the progress bars; the reload is throttled, so a busy rollout costs one request a second.
  live.focus({ types: ['rollout.*', 'execution.*'] });
  return live.subscribe(() => refresh());
}
