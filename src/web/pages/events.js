// The event log: newest first, filterable by type prefix, live.
import { api } from '../api.js';
import { live } from '../live.js';
import { card, debounce, emptyState, errorBox, fmtTime, h, mount } from '../util.js';
import { describeEvent, typeClass } from './shared.js';

const MAX_ROWS = 300;

export function render(main) {
  const type = h('input', { type: 'search', id: 'event-type', placeholder: 'Type or prefix: rollout.*, execution.failed, webhook.*' });
  const list = h('div', { id: 'event-list' });
  const status = h('div');
  mount(main, card('Event log', [h('div', { class: 'filters' }, type), status, list]));

  let items = [];
  const row = (e) =>
    h(
      'tr',
      null,
      h('td', { class: 'muted nowrap' }, fmtTime(e.ts)),
      h('td', null, h('span', { class: `type-badge ${typeClass(e.type)}` }, e.type)),
      h('td', null, e.rolloutId ? h('a', { href: `#/rollouts/${encodeURIComponent(e.rolloutId)}` }, e.rolloutId.slice(0, 8)) : '—'),
      h('td', null, e.deviceId ? h('a', { href: `#/devices/${encodeURIComponent(e.deviceId)}` }, e.deviceId) : '—'),
      h('td', { class: 'muted' }, e.actor ?? 'system'),
      h('td', null, describeEvent({ ...e, deviceId: null, rolloutId: null })),
    );
  const draw = () =>
    mount(
      list,
      items.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'table table-compact' }, h('thead', null, h('tr', null, ['Time', 'Type', 'Rollout', 'Device', 'Actor', 'Details'].map((c) => h('th', null, c)))), h('tbody', null, items.map(row))))
        : emptyState('No events match.'),
    );

  async function load() {
    try {
      const types = type.value.trim() ? [type.value.trim()] : undefined;
      const page = await api('GET', '/api/v1/events', { query: { type: types, limit: 100 } });
      items = page.items ?? [];
      mount(status);
      draw();
      live.focus(types ? { types } : {});
    } catch (error) {
      mount(status, errorBox(error));
    }
  }
  type.addEventListener('input', debounce(load, 300));
  load();
  return live.subscribe((events, gap) => {
    if (gap) return load();
    items = [...[...events].reverse(), ...items].slice(0, MAX_ROWS);
    draw();
  });
}
