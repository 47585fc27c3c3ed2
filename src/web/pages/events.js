// The event log: newest first, filterable by type prefix, live.
import { api } from '../api.js';
import { live } from '../live.js';
import { card, debounce, emptyState, errorBox, h, mount } from '../util.js';
import { eventRow } from './shared.js';

const MAX_ROWS = 300;

export function render(main) {
  const type = h('input', { type: 'search', id: 'event-type', placeholder: 'Type or prefix: rollout.*, execution.failed, webhook.*' });
  const list = h('ul', { class: 'event-list', id: 'event-list' });
  const status = h('div');
  mount(main, card('Event log', [h('div', { class: 'filters' }, type), status, list]));

  let items = [];
  const draw = () => mount(list, items.length ? items.map(eventRow) : emptyState('No events match.'));

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
