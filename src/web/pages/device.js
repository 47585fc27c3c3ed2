// One device: its record, the target state the server serves it, and its history from events.
import { api } from '../api.js';
import { live } from '../live.js';
import { card, emptyState, errorBox, fmtAgo, fmtTime, h, mount, pill, throttle } from '../util.js';
import { eventRow } from './shared.js';

export function render(main, [id], { setTitle }) {
  const details = h('div');
  const target = h('div');
  const history = h('div');
  const report = h('div');
  mount(main, h('div', { class: 'grid grid-2' }, card('Device', details), card('Current target', target)), h('div', { class: 'grid grid-2' }, card('Last report', report), card('History', history)));

  const field = (label, value) => h('div', { class: 'field' }, h('dt', null, label), h('dd', null, value ?? '—'));

  async function load() {
    try {
      const d = await api('GET', `/api/v1/devices/${encodeURIComponent(id)}`);
      setTitle(d.name && d.name !== d.id ? `${d.name} (${d.id})` : d.id);
      mount(
        details,
        h(
          'dl',
          { class: 'fields' },
          field('Status', pill(d.status)),
          field('Version', d.version),
          field('Location', d.location),
          field('Time zone', d.timezone),
          field('Delivery', d.mode),
          field('Address', d.address),
          field('Last seen', d.lastSeen ? h('span', { title: fmtTime(d.lastSeen) }, fmtAgo(d.lastSeen)) : 'never'),
          field('Tags', Object.keys(d.tags ?? {}).length ? Object.entries(d.tags).map(([k, v]) => h('span', { class: 'tag' }, `${k}:${v}`)) : '—'),
          field('Registered', fmtTime(d.createdAt)),
        ),
        Object.keys(d.metadata ?? {}).length ? h('pre', { class: 'json' }, JSON.stringify(d.metadata, null, 2)) : null,
      );
    } catch (error) {
      mount(details, errorBox(error));
    }
    try {
      const state = await api('GET', `/api/v1/device/${encodeURIComponent(id)}/state`);
      const update = state?.update;
      mount(
        target,
        update
          ? h('dl', { class: 'fields' }, field('Artifact', `${update.name} ${update.version}`), field('Kind', update.kind ?? update.install?.handler), field('SHA-256', h('code', { title: update.sha256 ?? '' }, update.sha256 ? `${update.sha256.slice(0, 16)}…` : '—')), field('Rollout', update.rolloutId ? h('a', { href: `#/rollouts/${encodeURIComponent(update.rolloutId)}` }, update.rolloutId.slice(0, 8)) : '—'), field('Execution', update.executionId), field('Polls every', state.pollIntervalSeconds ? `${state.pollIntervalSeconds} s` : '—'))
          : h('div', { class: 'uptodate' }, h('strong', null, 'Up to date'), h('div', { class: 'muted' }, 'Nothing to install.', state?.pollIntervalSeconds ? ` The device polls every ${state.pollIntervalSeconds} s.` : '')),
        h('details', { class: 'raw' }, h('summary', null, 'Raw target state'), h('pre', { class: 'json' }, JSON.stringify(state, null, 2))),
      );
    } catch (error) {
      mount(target, error.status === 404 ? emptyState('No target state is served for this device.') : errorBox(error));
    }
    try {
      const last = await api('GET', `/api/v1/devices/${encodeURIComponent(id)}/report`);
      const scalars = Object.entries(last.report).filter(([, v]) => v === null || typeof v !== 'object');
      mount(
        report,
        h('dl', { class: 'fields' }, field('Reported', h('span', { title: fmtTime(last.reportedAt) }, fmtAgo(last.reportedAt))), scalars.slice(0, 9).map(([k, v]) => field(k, v === null ? '—' : String(v)))),
        h('details', { class: 'raw' }, h('summary', null, 'Raw report and inventory'), h('pre', { class: 'json' }, JSON.stringify({ report: last.report, inventory: last.inventory }, null, 2))),
      );
    } catch (error) {
      mount(report, error.status === 404 ? emptyState('This device has not reported yet (push devices never do).') : errorBox(error));
    }
    try {
      const events = await api('GET', '/api/v1/events', { query: { deviceId: id, limit: 50 } });
      const items = events.items ?? [];
      mount(history, items.length ? h('ul', { class: 'event-list' }, items.map(eventRow)) : emptyState('Nothing has happened to this device yet.'));
    } catch (error) {
      mount(history, errorBox(error));
    }
  }

  load();
  const refresh = throttle(load, 1500);
  live.focus({ deviceId: id });
  return live.subscribe(() => refresh());
}
