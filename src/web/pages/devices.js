// Device list: the registry's filters (a saved group among them), search, cursor paging and a live
// refresh. Operators tick devices (each row, every row of the page, or all devices matching the
// filter) and act on them in bulk (pages/device-bulk.js).
import { api, canOperate } from '../api.js';
import { live } from '../live.js';
import { card, debounce, emptyState, errorBox, fmtAgo, fmtNumber, h, mount, pill, throttle } from '../util.js';
import { bulkBar } from './device-bulk.js';
import { filterForm, filterFromQuery } from './shared.js';

const PAGE = 50;

export function render(main, _params, ctx) {
  let filter = filterFromQuery(ctx?.query);
  let cursors = [undefined];
  let page = 0;
  let total = 0;
  let shown = [];
  // The selection: ticked ids (kept across pages), or every device the filter matches.
  const picked = new Set();
  let allMatching = false;
  const operator = canOperate();
  const body = h('div');
  const footer = h('div', { class: 'pager' });
  const banner = h('div', { id: 'select-banner' });
  const clear = () => {
    picked.clear();
    allMatching = false;
    sync();
  };
  const bulk = bulkBar({ selection: () => (allMatching ? { filter, total } : { ids: [...picked] }), onDone: () => { clear(); load(); }, onClear: clear });
  const form = filterForm(
    debounce((f) => {
      filter = f;
      cursors = [undefined];
      page = 0;
      // A new filter is a new selection: what was ticked under the old one may not match it.
      picked.clear();
      allMatching = false;
      ctx?.setQuery(f);
      load();
    }, 250),
    filter,
  );
  mount(main, card('Devices', [form.el, operator ? bulk.el : null, banner, body, footer]));

  /** The checkboxes, the bar and the "all N matching" offer, from the selection. */
  function sync() {
    for (const box of body.querySelectorAll('input[data-device]')) box.checked = allMatching || picked.has(box.dataset.device);
    const all = body.querySelector('#select-page');
    if (all) {
      const ticked = shown.filter((id) => picked.has(id)).length;
      all.checked = allMatching || (shown.length > 0 && ticked === shown.length);
      all.indeterminate = !allMatching && ticked > 0 && ticked < shown.length;
    }
    bulk.update(allMatching ? total : picked.size);
    const pageTicked = shown.length > 0 && shown.every((id) => picked.has(id));
    mount(
      banner,
      allMatching
        ? h('div', { class: 'select-banner' }, `All ${fmtNumber(total)} devices matching the filter are selected. `, h('button', { class: 'btn-link', type: 'button', onclick: clear }, 'Clear selection'))
        : pageTicked && total > shown.length
          ? h('div', { class: 'select-banner' }, `${fmtNumber(picked.size)} selected. `, h('button', { class: 'btn-link', type: 'button', id: 'select-all-matching', onclick: () => { allMatching = true; sync(); } }, `Select all ${fmtNumber(total)} devices matching the filter`))
          : null,
    );
  }

  function tick(id, on) {
    if (allMatching) {
      // Unticking one of "all matching" leaves the ticked page as the selection.
      allMatching = false;
      for (const other of shown) picked.add(other);
    }
    if (on) picked.add(id);
    else picked.delete(id);
    sync();
  }

  async function load() {
    try {
      const result = await api('GET', '/api/v1/devices', { query: { ...filter, limit: PAGE, cursor: cursors[page] } });
      cursors[page + 1] = result.nextCursor ?? undefined;
      total = result.total;
      shown = result.items.map((d) => d.id);
      const rows = result.items.map((d) =>
        h(
          'tr',
          { class: 'clickable', onclick: () => (window.location.hash = `#/devices/${encodeURIComponent(d.id)}`) },
          operator ? h('td', { class: 'cell-check', onclick: (event) => event.stopPropagation() }, h('input', { type: 'checkbox', dataset: { device: d.id }, 'aria-label': `Select ${d.id}`, onchange: (event) => tick(d.id, event.target.checked) })) : null,
          h('td', null, h('a', { href: `#/devices/${encodeURIComponent(d.id)}` }, d.id), d.name && d.name !== d.id ? h('div', { class: 'muted small' }, d.name) : null),
          h('td', null, pill(d.status)),
          h('td', null, d.version ?? '—'),
          h('td', null, d.deviceType ?? h('span', { class: 'muted' }, '—')),
          h('td', null, d.location ?? '—'),
          h('td', null, h('span', { class: 'mode' }, d.mode)),
          h('td', null, Object.entries(d.tags ?? {}).map(([k, v]) => h('span', { class: 'tag' }, `${k}=${v}`))),
          h('td', { class: 'muted' }, fmtAgo(d.lastSeen)),
        ),
      );
      const head = ['Device', 'Status', 'Version', 'Type', 'Location', 'Mode', 'Tags', 'Last seen'].map((c) => h('th', null, c));
      const selectPage = h('input', {
        type: 'checkbox',
        id: 'select-page',
        'aria-label': 'Select every device on this page',
        onchange: (event) => {
          allMatching = false;
          for (const id of shown) {
            if (event.target.checked) picked.add(id);
            else picked.delete(id);
          }
          sync();
        },
      });
      mount(
        body,
        rows.length
          ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'device-table' }, h('thead', null, h('tr', null, operator ? h('th', { class: 'cell-check' }, selectPage) : null, head)), h('tbody', null, rows)))
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
      sync();
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
