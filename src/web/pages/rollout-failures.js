// The rollout page's failures: every execution that failed or rolled back, from the rollout's
// device list (not from events, so it agrees with the counts), with its last error or rollback
// reason, attempts and when it ended; paged by cursor.
import { api } from '../api.js';
import { emptyState, errorBox, fmtAgo, fmtNumber, fmtTime, h, mount } from '../util.js';
import { FAILED_STATES } from './rollout-counts.js';
import { errorCell, logLink, stateCell, stateSince } from './rollout-devices.js';

const PAGE = 50;

export function rolloutFailures(rolloutId) {
  const body = h('div', { id: 'failures' });
  const pager = h('div', { class: 'pager' });
  let cursors = [undefined];
  let page = 0;
  let generation = 0;

  const row = (e) => {
    const since = stateSince(e);
    return h(
      'tr',
      { dataset: { device: e.deviceId } },
      h('td', { class: 'nowrap' }, h('a', { href: `#/devices/${encodeURIComponent(e.deviceId)}` }, e.deviceId)),
      stateCell(e),
      errorCell(e),
      h('td', { class: 'num' }, fmtNumber(e.attempts)),
      h('td', { class: 'muted nowrap', title: since ? fmtTime(since) : '' }, since ? fmtAgo(since) : '—'),
      h('td', null, logLink(rolloutId, e.deviceId)),
    );
  };

  async function load() {
    const mine = ++generation;
    try {
      const result = await api('GET', `/api/v1/rollouts/${encodeURIComponent(rolloutId)}/devices`, { query: { state: FAILED_STATES.join(','), limit: PAGE, cursor: cursors[page] } });
      if (mine !== generation) return;
      const items = result.items ?? [];
      cursors[page + 1] = result.nextCursor ?? undefined;
      mount(
        body,
        items.length
          ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'failure-table' }, h('thead', null, h('tr', null, ['Device', 'State', 'Last error or reason', 'Attempts', 'Ended', 'Log'].map((c) => h('th', null, c)))), h('tbody', null, items.map(row))))
          : emptyState('No failures.'),
      );
      mount(
        pager,
        h('span', { class: 'muted' }, result.total > items.length || page > 0 ? `${fmtNumber(page * PAGE + 1)}–${fmtNumber(page * PAGE + items.length)} of ${fmtNumber(result.total)}` : ''),
        result.nextCursor || page > 0
          ? h('div', { class: 'pager-buttons' }, h('button', { class: 'btn btn-sm', disabled: page === 0, onclick: () => ((page -= 1), load()) }, '← Previous'), h('button', { class: 'btn btn-sm', disabled: !result.nextCursor, onclick: () => ((page += 1), load()) }, 'Next →'))
          : null,
      );
    } catch (error) {
      if (mine === generation) mount(body, errorBox(error));
    }
  }

  return { el: h('div', null, body, pager), load };
}
