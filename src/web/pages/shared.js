// Pieces several pages use: event rows and the device filter form.
import { api } from '../api.js';
import { fmtAgo, fmtNumber, fmtTime, h, mount } from '../util.js';
import { describeEvent, typeClass } from './event-text.js';

export function eventRow(e) {
  return h('li', { class: 'event' }, h('span', { class: `event-dot ${typeClass(e.type)}` }), h('div', { class: 'event-main' }, h('div', null, h('code', { class: 'event-type' }, e.type), h('span', { class: 'muted' }, ` ${describeEvent(e, { withSubjects: true })}`)), h('div', { class: 'muted small', title: fmtTime(e.ts) }, `${fmtAgo(e.ts)} · ${e.actor ?? 'system'}`)));
}

/**
 * Filter inputs with the device list's keys; onChange(filter) on every edit. `fields` by filter key.
 * `withGroup: false` leaves the saved-group choice out (a group's own filter cannot name a group).
 */
export function filterForm(onChange, initial = {}, { withGroup = true } = {}) {
  const fields = {
    q: h('input', { type: 'search', name: 'q', placeholder: 'Search id or name', 'aria-label': 'Search id or name', value: initial.q ?? '' }),
    status: h('select', { name: 'status', 'aria-label': 'Status' }, h('option', { value: '' }, 'Any status'), ['online', 'offline', 'unknown'].map((s) => h('option', { value: s, selected: initial.status === s }, s))),
    mode: h('select', { name: 'mode', 'aria-label': 'Delivery mode' }, h('option', { value: '' }, 'Any delivery'), [['pull', 'pull (agent)'], ['http', 'push over HTTP'], ['ssh', 'push over SSH']].map(([v, text]) => h('option', { value: v, selected: initial.mode === v }, text))),
    location: h('input', { name: 'location', placeholder: 'Location', 'aria-label': 'Location', value: initial.location ?? '' }),
    version: h('input', { name: 'version', placeholder: 'Version or range (<2.0.0)', 'aria-label': 'Version or range', value: initial.version ?? '' }),
    tag: h('input', { name: 'tag', placeholder: 'Tag key=value', 'aria-label': 'Tag key=value', value: initial.tag ?? '' }),
    deviceType: h('input', { name: 'deviceType', placeholder: 'Device type', 'aria-label': 'Device type', value: initial.deviceType ?? '' }),
  };
  const groupSelect = h('select', { name: 'group', 'aria-label': 'Group' }, h('option', { value: '' }, 'Any group'), initial.group ? h('option', { value: initial.group, selected: true }, initial.group) : null);
  if (withGroup) fields.group = groupSelect;
  const read = () => Object.fromEntries(Object.entries(fields).map(([k, el]) => [k, el.value.trim()]).filter(([, v]) => v));
  for (const el of Object.values(fields)) el.addEventListener('input', () => onChange(read()));
  // The saved groups, each with its live member count; the one asked for stays chosen.
  if (withGroup) loadGroups(groupSelect);
  return { el: h('div', { class: 'filters' }, Object.values(fields)), read, fields };
}

function loadGroups(select) {
  api('GET', '/api/v1/groups', { query: { limit: 200 } })
    .then((result) => {
      const chosen = select.value;
      const items = result.items ?? [];
      mount(
        select,
        h('option', { value: '' }, 'Any group'),
        items.map((g) => h('option', { value: g.id, selected: g.id === chosen || g.name === chosen }, `${g.name} (${g.kind}, ${fmtNumber(g.members)})`)),
        chosen && !items.some((g) => g.id === chosen || g.name === chosen) ? h('option', { value: chosen, selected: true }, chosen) : null,
      );
    })
    .catch((error) => select.append(h('option', { value: '', disabled: true }, `Groups not loaded: ${error.message}`)));
}

/** The filter keys a page's hash query holds (#/devices?group=canary&location=x). */
export function filterFromQuery(query) {
  const out = {};
  for (const key of ['q', 'status', 'mode', 'location', 'version', 'tag', 'deviceType', 'group']) if (query?.get(key)) out[key] = query.get(key);
  return out;
}
