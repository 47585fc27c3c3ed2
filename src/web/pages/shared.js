// Pieces several pages use: event rows and the device filter form.
import { fmtAgo, fmtTime, h } from '../util.js';
import { describeEvent, typeClass } from './event-text.js';

export function eventRow(e) {
  return h('li', { class: 'event' }, h('span', { class: `event-dot ${typeClass(e.type)}` }), h('div', { class: 'event-main' }, h('div', null, h('code', { class: 'event-type' }, e.type), h('span', { class: 'muted' }, ` ${describeEvent(e, { withSubjects: true })}`)), h('div', { class: 'muted small', title: fmtTime(e.ts) }, `${fmtAgo(e.ts)} · ${e.actor ?? 'system'}`)));
}

/** Filter inputs with the device list's keys; onChange(filter) on every edit. `fields` by filter key. */
export function filterForm(onChange, initial = {}) {
  const fields = {
    q: h('input', { type: 'search', name: 'q', placeholder: 'Search id or name', 'aria-label': 'Search id or name', value: initial.q ?? '' }),
    status: h('select', { name: 'status', 'aria-label': 'Status' }, h('option', { value: '' }, 'Any status'), ['online', 'offline', 'unknown'].map((s) => h('option', { value: s, selected: initial.status === s }, s))),
    mode: h('select', { name: 'mode', 'aria-label': 'Delivery mode' }, h('option', { value: '' }, 'Any delivery'), [['pull', 'pull (agent)'], ['http', 'push over HTTP'], ['ssh', 'push over SSH']].map(([v, text]) => h('option', { value: v, selected: initial.mode === v }, text))),
    location: h('input', { name: 'location', placeholder: 'Location', 'aria-label': 'Location', value: initial.location ?? '' }),
    version: h('input', { name: 'version', placeholder: 'Version or range (<2.0.0)', 'aria-label': 'Version or range', value: initial.version ?? '' }),
    tag: h('input', { name: 'tag', placeholder: 'Tag key=value', 'aria-label': 'Tag key=value', value: initial.tag ?? '' }),
  };
  const read = () => Object.fromEntries(Object.entries(fields).map(([k, el]) => [k, el.value.trim()]).filter(([, v]) => v));
  for (const el of Object.values(fields)) el.addEventListener('input', () => onChange(read()));
  return { el: h('div', { class: 'filters' }, Object.values(fields)), read, fields };
}
