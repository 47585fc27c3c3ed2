// The event log: newest first, filtered by type (or prefix), rollout and device, paged by cursor,
// with what each event means in the details column and its data one click away. The filters live
// in the URL (#/events?type=execution.failed&rolloutId=...), so other pages link to a device's log.
// The first page follows the live feed; older pages stay put and say how many newer events arrived.
import { api } from '../api.js';
import { live } from '../live.js';
import { card, debounce, emptyState, errorBox, fmtNumber, fmtTime, h, mount, throttle } from '../util.js';
import { describeEvent, typeClass } from './event-text.js';

const PAGE = 100;
const TYPE_SUGGESTIONS = ['execution.*', 'execution.failed', 'execution.rolled-back', 'execution.succeeded', 'rollout.*', 'rollout.paused', 'rollout.failed', 'device.*', 'artifact.*', 'policy.*', 'webhook.*', 'token.*', 'mender.*', 'hawkbit.*'];

export function render(main, _params, { query, setQuery }) {
  const input = (id, label, placeholder, attrs = {}) => {
    const el = h('input', { type: 'search', id, name: id, placeholder, value: query.get(attrs.key) ?? '', autocomplete: 'off', spellcheck: 'false', maxlength: 128, ...attrs, key: undefined });
    return { el, row: h('label', { for: id }, label, el) };
  };
  const type = input('event-type', 'Type or prefix', 'execution.failed, rollout.*', { key: 'type', list: 'event-types' });
  const rollout = input('event-rollout', 'Rollout id', 'any rollout', { key: 'rolloutId', list: 'event-rollouts' });
  const device = input('event-device', 'Device id', 'any device', { key: 'deviceId' });
  const types = h('datalist', { id: 'event-types' }, TYPE_SUGGESTIONS.map((t) => h('option', { value: t })));
  const rollouts = h('datalist', { id: 'event-rollouts' });
  const clear = h('button', { type: 'button', class: 'btn', id: 'event-clear' }, 'Clear filters');
  const list = h('div', { id: 'event-list' });
  const status = h('div');
  const pager = h('div', { class: 'pager' });
  const newer = h('div', { id: 'event-newer', hidden: true });
  mount(main, card('Event log', [h('div', { class: 'filters filters-labelled' }, type.row, rollout.row, device.row, clear, types, rollouts), status, newer, list, pager]));

  let cursors = [undefined];
  let page = 0;
  let items = [];
  let arrived = 0;
  let generation = 0;

  const filter = () => ({ type: type.el.value.trim(), rolloutId: rollout.el.value.trim(), deviceId: device.el.value.trim() });

  const details = (e) => {
    const text = describeEvent(e);
    const hasData = e.data && Object.keys(e.data).length > 0;
    return h('td', { class: 'event-details' }, text ? h('span', { title: text }, text) : null, hasData ? h('details', { class: 'raw raw-inline' }, h('summary', null, text ? 'data' : 'show data'), h('pre', { class: 'json' }, JSON.stringify(e.data, null, 2))) : text ? null : h('span', { class: 'muted' }, '—'));
  };
  const row = (e) =>
    h(
      'tr',
      { dataset: { id: String(e.id) } },
      h('td', { class: 'muted nowrap' }, fmtTime(e.ts)),
      h('td', null, h('span', { class: `type-badge ${typeClass(e.type)}` }, e.type)),
      h('td', null, e.rolloutId ? h('a', { href: `#/rollouts/${encodeURIComponent(e.rolloutId)}`, title: e.rolloutId }, e.rolloutId.slice(0, 8)) : '—'),
      h('td', null, e.deviceId ? h('a', { href: `#/devices/${encodeURIComponent(e.deviceId)}` }, e.deviceId) : '—'),
      h('td', { class: 'muted' }, e.actor ?? 'system'),
      details(e),
    );

  function draw(nextCursor) {
    const f = filter();
    const any = f.type || f.rolloutId || f.deviceId;
    mount(
      list,
      items.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'table table-compact', id: 'event-table' }, h('thead', null, h('tr', null, ['Time', 'Type', 'Rollout', 'Device', 'Actor', 'Details'].map((c) => h('th', null, c)))), h('tbody', null, items.map(row))))
        : emptyState(any ? 'No events match these filters.' : 'No events yet.'),
    );
    const from = page * PAGE + (items.length ? 1 : 0);
    mount(
      pager,
      h('span', { class: 'muted', id: 'event-range' }, items.length ? `Events ${fmtNumber(from)}–${fmtNumber(page * PAGE + items.length)}, newest first${page === 0 ? ' · live' : ''}` : ''),
      h(
        'div',
        { class: 'pager-buttons' },
        h('button', { class: 'btn btn-sm', id: 'event-newer-page', disabled: page === 0, onclick: () => go(page - 1) }, '← Newer'),
        h('button', { class: 'btn btn-sm', id: 'event-older-page', disabled: !nextCursor, onclick: () => go(page + 1) }, 'Older →'),
      ),
    );
  }

  function showArrived() {
    newer.hidden = page === 0 || arrived === 0;
    if (!newer.hidden) mount(newer, h('div', { class: 'alert row-between' }, h('span', null, `${fmtNumber(arrived)} newer event${arrived === 1 ? '' : 's'} since this page was loaded.`), h('button', { class: 'btn btn-sm', onclick: () => go(0) }, 'Show newest')));
  }

  async function load() {
    const mine = ++generation;
    const f = filter();
    try {
      const result = await api('GET', '/api/v1/events', { query: { type: f.type || undefined, rolloutId: f.rolloutId, deviceId: f.deviceId, limit: PAGE, cursor: cursors[page] } });
      if (mine !== generation) return;
      items = result.items ?? [];
      cursors[page + 1] = result.nextCursor ?? undefined;
      mount(status);
      draw(result.nextCursor);
    } catch (error) {
      if (mine === generation) mount(status, errorBox(error));
    }
  }

  function go(next) {
    page = Math.max(0, next);
    if (page === 0) arrived = 0;
    showArrived();
    load();
  }

  function filtersChanged() {
    const f = filter();
    setQuery({ type: f.type, rolloutId: f.rolloutId, deviceId: f.deviceId });
    cursors = [undefined];
    arrived = 0;
    live.focus({ rolloutId: f.rolloutId || undefined, deviceId: f.deviceId || undefined, types: f.type ? [f.type] : undefined });
    go(0);
  }
  const onInput = debounce(filtersChanged, 300);
  for (const el of [type.el, rollout.el, device.el]) el.addEventListener('input', onInput);
  clear.addEventListener('click', () => {
    for (const el of [type.el, rollout.el, device.el]) el.value = '';
    filtersChanged();
  });

  api('GET', '/api/v1/rollouts', { query: { limit: 100 } })
    .then((result) => mount(rollouts, (result.items ?? []).map((r) => h('option', { value: r.id }, r.name || r.id))))
    .catch(() => {});

  filtersChanged();
  // Page one reloads (at most once a second) so it stays correct with its cursor; older pages count.
  const reload = throttle(load, 1000);
  return live.subscribe((events, gap) => {
    if (page === 0) {
      if (gap || events.length) reload();
      return;
    }
    arrived += events.length;
    showArrived();
  });
}
