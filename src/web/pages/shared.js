// Pieces several pages use: event rows, rollout progress parts, the device filter form.
import { fmtAgo, fmtTime, h } from '../util.js';

const DONE = ['succeeded'];
const FAILED = ['failed', 'rolled-back'];
const ACTIVE = ['queued', 'delivering', 'downloading', 'installing', 'verifying'];
const SKIPPED = ['cancelled', 'skipped'];

const sum = (counts, states) => states.reduce((s, k) => s + (counts?.[k] ?? 0), 0);

/** Stacked-bar parts from execution counts. */
export function partsOf(counts, total) {
  const parts = [
    { label: 'succeeded', value: sum(counts, DONE), cls: 'c-ok', done: true },
    { label: 'failed', value: sum(counts, FAILED), cls: 'c-bad', done: true },
    { label: 'in progress', value: sum(counts, ACTIVE), cls: 'c-accent' },
    { label: 'skipped', value: sum(counts, SKIPPED), cls: 'c-muted', done: true },
  ];
  const known = parts.reduce((s, p) => s + p.value, 0);
  const all = total ?? known + (counts?.pending ?? 0);
  return { parts, total: Math.max(all, known) };
}

export function rolloutParts(rollout) {
  const counts = rollout.counts ?? {};
  const total = rollout.progress?.total ?? Object.values(counts).reduce((s, n) => s + n, 0);
  return partsOf(counts, total);
}

export function describeEvent(e) {
  const d = e.data ?? {};
  const bits = [];
  if (e.deviceId) bits.push(`device ${e.deviceId}`);
  if (e.rolloutId) bits.push(`rollout ${e.rolloutId.slice(0, 8)}`);
  if (typeof d.error === 'string') bits.push(d.error);
  else if (typeof d.reason === 'string') bits.push(d.reason);
  else if (typeof d.image === 'string') bits.push(d.image);
  else if (typeof d.name === 'string') bits.push(d.name);
  return bits.join(' · ');
}

export function typeClass(type) {
  if (/failed|rejected|error/.test(type)) return 'c-bad';
  if (/succeeded|completed|created|added/.test(type)) return 'c-ok';
  if (/paused|cancelled|rolled-back|removed|offline/.test(type)) return 'c-warn';
  return 'c-accent';
}

export function eventRow(e) {
  return h('li', { class: 'event' }, h('span', { class: `event-dot ${typeClass(e.type)}` }), h('div', { class: 'event-main' }, h('div', null, h('code', { class: 'event-type' }, e.type), h('span', { class: 'muted' }, ` ${describeEvent(e)}`)), h('div', { class: 'muted small', title: fmtTime(e.ts) }, `${fmtAgo(e.ts)} · ${e.actor ?? 'system'}`)));
}

/** Filter inputs with the device list's keys; onChange(filter) on every edit. */
export function filterForm(onChange, initial = {}) {
  const fields = {
    q: h('input', { type: 'search', name: 'q', placeholder: 'Search id or name', value: initial.q ?? '' }),
    status: h('select', { name: 'status' }, h('option', { value: '' }, 'Any status'), ['online', 'offline', 'unknown'].map((s) => h('option', { value: s, selected: initial.status === s }, s))),
    location: h('input', { name: 'location', placeholder: 'Location', value: initial.location ?? '' }),
    version: h('input', { name: 'version', placeholder: 'Version or range (<2.0.0)', value: initial.version ?? '' }),
    tag: h('input', { name: 'tag', placeholder: 'Tag key:value', value: initial.tag ?? '' }),
  };
  const read = () => Object.fromEntries(Object.entries(fields).map(([k, el]) => [k, el.value.trim()]).filter(([, v]) => v));
  for (const el of Object.values(fields)) el.addEventListener('input', () => onChange(read()));
  return { el: h('div', { class: 'filters' }, Object.values(fields)), read };
}
