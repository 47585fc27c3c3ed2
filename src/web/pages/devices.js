// Device list: the registry's filters, search, cursor paging and a live refresh.
import { api } from '../api.js';
import { live } from '../live.js';
import { card, debounce, emptyState, errorBox, fmtAgo, fmtNumber, h, mount, pill, throttle } from '../util.js';
import { filterForm } from './shared.js';

const PAGE = 50;

export function render(main) {
  let filter = {};
  let cursors = [undefined];
  let page = 0;
  const body = h('div');
  const footer = h('div', { class: 'pager' });
  const form = filterForm(
    debounce((f) => {
      filter = f;
      cursors = [undefined];
      page = 0;
      load();
    }, 250),
  );
  mount(main, card('Devices', [form.el, body, footer]));

  async function load() {
    try {
      const result = await api('GET', '/api/v1/devices', { query: { ...filter, limit: PAGE, cursor: cursors[page] } });
      cursors[page + 1] = result.nextCursor ?? undefined;
      const rows = result.items.map((d) =>
        h(
          'tr',
          { class: 'clickable', onclick: () => (window.location.hash = `#/devices/${encodeURIComponent(d.id)}`) },
          h('td', null, h('a', { href: `#/devices/${encodeURIComponent(d.id)}` }, d.id), d.name && d.name !== d.id ? h('div', { class: 'muted small' }, d.name) : null),
          h('td', null, pill(d.status)),
          h('td', null, d.version ?? '—'),
          h('td', null, d.location ?? '—'),
          h('td', null, h('span', { class: 'mode' }, d.mode)),
          h('td', null, Object.entries(d.tags ?? {}).map(([k, v]) => h('span', { class: 'tag' }, `${k}=${v}`))),
          h('td', { class: 'muted' }, fmtAgo(d.lastSeen)),
        ),
      );
      mount(
        body,
        rows.length
          ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'device-table' }, h('thead', null, h('tr', null, ['Device', 'Status', 'Version', 'Location', 'Mode', 'Tags', 'Last seen'].map((c) => h('th', null, c)))), h('tbody', null, rows)))
          : emptyState('No device matches these filters.'),
      );
      const from = page * PAGE + (rows.length ? 1 : 0);
      mount(
        footer,
        h('span', { class: 'muted', id: 'device-total' }, `${fmtNumber(from)}–${fmtNumber(page * PAGE + rows.length)} of ${fmtNumber(result.total)} devices`),
        h(
          'div',
          { class: 'pager-buttons' },
          h('button', { class: 'btn btn-sm', disabled: page === 0, onclick: () => { page--; load(); } }, '← Previous'),
          h('button', { class: 'btn btn-sm', disabled: !result.nextCursor, onclick: () => { page++; load(); } }, 'Next →'),
        ),
      );
    } catch (error) {
      mount(body, errorBox(error));
    }
  }

  load();
  const refresh = throttle(load, 2000);
  live.focus({ types: ['device.*'] });
  return live.subscribe((events, gap) => {
    if (gap || events.length) refresh();
  });
}
