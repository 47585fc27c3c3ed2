// Fleet overview: headline figures, devices by status (donut), by version and location (bars),
// active rollouts (what each waits for, Approve for operators, counts from the API) and the latest
// events; refreshed live as events arrive.
import { api } from '../api.js';
import { bars, donut, stacked } from '../charts.js';
import { live } from '../live.js';
import { card, emptyState, errorBox, fmtAgo, fmtNumber, h, mount, pill, throttle } from '../util.js';
import { partsOf, progressText } from './rollout-counts.js';
import { approveButton, etaText, waitBadge } from './rollout-wait.js';
import { eventRow } from './shared.js';

const STATUS_CLS = { online: 'c-ok', offline: 'c-muted', unknown: 'c-warn' };

/** "1 paused · 2 waiting for approval" under the active rollouts figure. */
function activeHint(running) {
  const paused = running.filter((r) => r.status === 'paused').length;
  const approval = running.filter((r) => r.waiting === 'approval').length;
  const bits = [paused ? `${paused} paused` : null, approval ? `${approval} waiting for approval` : null].filter(Boolean);
  return bits.length ? bits.join(' · ') : null;
}

export function render(main) {
  const kpis = h('div', { class: 'kpis' });
  const status = h('div');
  const versions = h('div');
  const locations = h('div');
  const active = h('div');
  const recent = h('div');
  const notice = h('div');
  mount(
    main,
    notice,
    kpis,
    h('div', { class: 'grid grid-3' }, card('Devices by status', status), card('Versions', versions), card('Locations', locations)),
    h('div', { class: 'grid grid-2' }, card('Active rollouts', active, h('a', { class: 'btn btn-sm', href: '#/rollouts' }, 'All rollouts')), card('Latest events', recent, h('a', { class: 'btn btn-sm', href: '#/events' }, 'Event log'))),
  );

  const kpi = (label, value, cls, hint) => h('div', { class: `kpi ${cls ?? ''}` }, h('div', { class: 'kpi-label' }, label), h('div', { class: 'kpi-value' }, value), hint ? h('div', { class: 'kpi-hint' }, hint) : null);

  const approved = (error) => {
    mount(notice, error ? errorBox(new Error(`Approve failed: ${error.message}`)) : null);
    load();
  };

  async function load() {
    try {
      const [summary, rollouts, events] = await Promise.all([
        api('GET', '/api/v1/fleet/summary', { query: { top: 8 } }),
        api('GET', '/api/v1/rollouts', { query: { limit: 50 } }).catch(() => ({ items: [] })),
        api('GET', '/api/v1/events', { query: { limit: 8 } }).catch(() => ({ items: [] })),
      ]);
      const count = (s) => summary.byStatus.find((b) => b.value === s)?.count ?? 0;
      const items = rollouts.items ?? rollouts;
      const running = items.filter((r) => ['running', 'paused', 'scheduled'].includes(r.status));
      mount(
        kpis,
        kpi('Devices', fmtNumber(summary.total)),
        kpi('Online', fmtNumber(count('online')), 'kpi-ok', summary.total ? `${Math.round((count('online') / summary.total) * 100)}% of the fleet` : null),
        kpi('Offline', fmtNumber(count('offline')), 'kpi-muted'),
        kpi('Active rollouts', fmtNumber(running.length), 'kpi-accent', activeHint(running)),
      );
      mount(status, summary.total ? donut(['online', 'offline', 'unknown'].map((s) => ({ label: s, value: count(s), cls: STATUS_CLS[s] })), { center: { value: fmtNumber(summary.total), label: 'devices' } }) : emptyState('No devices yet: import them with orchestrator devices import.'));
      mount(versions, bars(summary.byVersion.map((b) => ({ label: b.value ?? 'unknown', value: b.count }))));
      mount(locations, bars(summary.byLocation.map((b) => ({ label: b.value ?? 'unknown', value: b.count }))));
      mount(
        active,
        running.length
          ? h(
              'ul',
              { class: 'rollout-list' },
              running.slice(0, 6).map((r) => {
                const { parts, total } = partsOf(r.counts, r.progress.total);
                const eta = typeof r.progress.etaSeconds === 'number' && !r.waiting ? ` · ${etaText(r)}` : '';
                return h(
                  'li',
                  { dataset: { rollout: r.id } },
                  h(
                    'a',
                    { href: `#/rollouts/${encodeURIComponent(r.id)}` },
                    h('div', { class: 'row-between' }, h('strong', null, r.name || r.id), h('span', { class: 'status-line' }, waitBadge(r), pill(r.status))),
                    stacked(parts, total),
                    h('div', { class: 'muted small progress-text' }, `${progressText(r)} of ${fmtNumber(total)} · started ${fmtAgo(r.startedAt ?? r.createdAt)}${eta}`),
                  ),
                  approveButton(r, approved, { id: null, small: true }),
                );
              }),
            )
          : emptyState('No rollout is running.'),
      );
      const list = events.items ?? [];
      mount(recent, list.length ? h('ul', { class: 'event-list' }, list.map(eventRow)) : emptyState('No events yet.'));
    } catch (error) {
      mount(kpis, errorBox(error));
    }
  }

  const refresh = throttle(load, 1500);
  load();
  return live.subscribe(() => refresh());
}
