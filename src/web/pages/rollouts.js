// Rollouts list with status, what each waits for (with Approve for operators), progress and time
// left, all from the API's counts and progress; live.
import { api, canOperate } from '../api.js';
import { stacked } from '../charts.js';
import { live } from '../live.js';
import { card, emptyState, errorBox, fmtAgo, fmtNumber, h, mount, pill, throttle } from '../util.js';
import { partsOf, progressText } from './rollout-counts.js';
import { approveButton, etaText, waitBadge } from './rollout-wait.js';

export function render(main) {
  const list = h('div');
  const notice = h('div');
  mount(main, notice, card('Rollouts', list, canOperate() ? h('a', { class: 'btn btn-primary btn-sm', href: '#/rollouts/new', id: 'new-rollout' }, '+ New rollout') : null));

  const approved = (error) => {
    mount(notice, error ? errorBox(new Error(`Approve failed: ${error.message}`)) : null);
    load();
  };

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
                    const { parts, total } = partsOf(r.counts, r.progress.total);
                    return h(
                      'tr',
                      { class: 'clickable', dataset: { rollout: r.id }, onclick: () => (window.location.hash = `#/rollouts/${encodeURIComponent(r.id)}`) },
                      h('td', null, h('a', { href: `#/rollouts/${encodeURIComponent(r.id)}` }, r.name || r.id.slice(0, 8)), h('div', { class: 'muted small' }, r.id)),
                      h('td', { class: 'cell-status' }, h('div', { class: 'status-line' }, pill(r.status), waitBadge(r)), approveButton(r, approved, { id: null, small: true })),
                      h(
                        'td',
                        { class: 'cell-progress' },
                        stacked(parts, total),
                        h('div', { class: 'muted small progress-text' }, total ? progressText(r) : '—'),
                        // Time left only where the API knows it (never while paused or waiting: the badge says why).
                        typeof r.progress.etaSeconds === 'number' && !r.waiting ? h('div', { class: 'muted small eta-text' }, etaText(r)) : null,
                      ),
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
