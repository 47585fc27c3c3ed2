// One device: its record; how updates reach it (a pull device: the target state it is served and
// how often it polls; a push device: where the server delivers and how the last delivery went);
// its deployment history; its last report (pull devices) and its events. Live.
import { api } from '../api.js';
import { live } from '../live.js';
import { card, emptyState, errorBox, fmtAgo, fmtBytes, fmtTime, h, mount, pill, throttle } from '../util.js';
import { deviceHistory } from './device-history.js';
import { eventRow } from './shared.js';

const TRANSPORTS = { http: 'HTTP POST', ssh: 'SFTP over SSH' };
const FINAL = ['succeeded', 'failed', 'rolled-back', 'cancelled', 'skipped'];
const field = (label, value) => h('div', { class: 'field' }, h('dt', null, label), h('dd', null, value ?? '—'));

/**
 * Where the device's reported version and the newest rollout disagree: it was cancelled, but the
 * device installed its artifact anyway (it could not interrupt the install).
 */
function installedAnyway(device, executions) {
  const newest = executions?.[0];
  if (!newest?.installedAfterCancel) return null;
  const target = newest.artifact ? `${newest.artifact.name} ${newest.artifact.version}` : 'its artifact';
  const rollout = h('a', { href: `#/rollouts/${encodeURIComponent(newest.rolloutId)}` }, newest.rolloutName || newest.rolloutId.slice(0, 8));
  return h('div', { class: 'small text-warn version-mismatch', id: 'version-mismatch' }, 'Rollout ', rollout, ` (${target}) was cancelled, but this device installed it anyway and reports ${device.version ?? 'no version'}.`);
}

function deliveryFacts(executions) {
  if (!executions) return [field('Last delivery', h('span', { id: 'last-delivery', class: 'muted' }, 'unknown: the deployment history did not load'))];
  const last = executions?.find((e) => FINAL.includes(e.state) && e.state !== 'skipped');
  const open = executions?.find((e) => !FINAL.includes(e.state));
  const lastText = last
    ? h('span', { id: 'last-delivery' }, pill(last.state), ' ', h('span', { title: fmtTime(last.finishedAt ?? last.stateSince ?? last.updatedAt) }, fmtAgo(last.finishedAt ?? last.stateSince ?? last.updatedAt)), last.bytes ? ` · ${fmtBytes(last.bytes)}` : '', last.attempts > 1 ? ` · ${last.attempts} attempts` : '', last.error ? h('div', { class: last.state === 'rolled-back' ? 'text-purple small' : 'text-bad small' }, last.error) : null, last.note ? h('div', { class: 'text-warn small' }, last.note) : null)
    : h('span', { id: 'last-delivery', class: 'muted' }, 'nothing delivered yet');
  const openText = open ? h('span', null, pill(open.state), ' in ', h('a', { href: `#/rollouts/${encodeURIComponent(open.rolloutId)}` }, open.rolloutId.slice(0, 8)), open.nextAttemptAt && open.state === 'pending' ? ` · next attempt ${fmtTime(open.nextAttemptAt)}` : '') : 'nothing';
  return [field('Last delivery', lastText), field('Now', openText)];
}

export function render(main, [id], { setTitle }) {
  const details = h('div');
  const delivery = h('div');
  const report = h('div');
  const events = h('div');
  const history = deviceHistory(id);
  const deliveryCard = card('Delivery', delivery);
  const lower = h('div', { class: 'grid grid-2' });
  mount(main, h('div', { class: 'grid grid-2' }, card('Device', details), deliveryCard), card('Deployment history', history.el), lower);
  let device = null;

  async function loadDevice() {
    try {
      device = await api('GET', `/api/v1/devices/${encodeURIComponent(id)}`);
      const d = device;
      setTitle(d.name && d.name !== d.id ? `${d.name} (${d.id})` : d.id);
      mount(
        details,
        h(
          'dl',
          { class: 'fields' },
          d.decommissionedAt ? field('Decommissioned', h('span', { class: 'pill pill-failed', id: 'decommissioned', title: 'every credential revoked; its history stays' }, fmtTime(d.decommissionedAt))) : null,
          field('Status', pill(d.status)),
          field('Version', h('span', { id: 'device-version' }, d.version ?? '—')),
          field('Location', d.location),
          field('Time zone', d.timezone),
          field('Tenant', d.tenant),
          field('Delivery', d.mode === 'pull' ? 'pull (the device polls)' : `push (${TRANSPORTS[d.mode] ?? d.mode})`),
          field('Address', d.address),
          field('Last seen', d.lastSeen ? h('span', { title: fmtTime(d.lastSeen) }, fmtAgo(d.lastSeen)) : 'never'),
          field('Tags', Object.keys(d.tags ?? {}).length ? Object.entries(d.tags).map(([k, v]) => h('span', { class: 'tag' }, `${k}=${v}`)) : '—'),
          field('Registered', fmtTime(d.createdAt)),
        ),
        Object.keys(d.metadata ?? {}).length ? h('pre', { class: 'json' }, JSON.stringify(d.metadata, null, 2)) : null,
      );
    } catch (error) {
      mount(details, errorBox(error));
    }
  }

  async function loadPullTarget(executions) {
    try {
      const state = await api('GET', `/api/v1/device/${encodeURIComponent(id)}/state`);
      const update = state?.update;
      const polls = state?.pollIntervalSeconds ? `The device polls every ${state.pollIntervalSeconds} s.` : '';
      // Work not yet released (a later phase, a closed window) is not served, but it is not "up to date".
      const open = executions?.find((e) => !FINAL.includes(e.state));
      const idle = open
        ? h('div', { class: 'push-summary', id: 'not-released' }, h('strong', null, 'Nothing served yet'), h('div', { class: 'muted' }, `An update is ${open.state} in rollout `, h('a', { href: `#/rollouts/${encodeURIComponent(open.rolloutId)}` }, open.rolloutId.slice(0, 8)), `, phase ${open.phase + 1}; it is served once the rollout releases it. ${polls}`))
        : h('div', { class: 'uptodate' }, h('strong', null, 'Up to date'), h('div', { class: 'muted' }, `Nothing to install. ${polls}`));
      mount(
        delivery,
        update
          ? h('dl', { class: 'fields' }, field('Artifact', `${update.name} ${update.version}`), field('Kind', update.kind ?? update.install?.handler), field('SHA-256', h('code', { title: update.sha256 ?? '' }, update.sha256 ? `${update.sha256.slice(0, 16)}…` : '—')), field('Rollout', update.rolloutId ? h('a', { href: `#/rollouts/${encodeURIComponent(update.rolloutId)}` }, update.rolloutId.slice(0, 8)) : '—'), field('Execution', update.executionId), field('Polls every', state.pollIntervalSeconds ? `${state.pollIntervalSeconds} s` : '—'))
          : idle,
        h('details', { class: 'raw' }, h('summary', null, 'Raw target state'), h('pre', { class: 'json' }, JSON.stringify(state, null, 2))),
      );
    } catch (error) {
      mount(delivery, error.status === 404 ? emptyState('No target state is served for this device.') : errorBox(error));
    }
  }

  function renderPush(executions) {
    const d = device;
    mount(
      delivery,
      h(
        'div',
        { class: 'push-summary', id: 'push-summary' },
        h('strong', null, `The server pushes updates to this device over ${TRANSPORTS[d.mode] ?? d.mode}.`),
        h('div', { class: 'muted' }, 'It does not poll: a rollout delivers when its window, phase and limits allow, and retries with backoff when the device is unreachable.'),
      ),
      h('dl', { class: 'fields' }, field('Address', h('code', null, d.address ?? 'none: add one, or deliveries fail')), field('Transport', TRANSPORTS[d.mode] ?? d.mode), ...deliveryFacts(executions)),
    );
  }

  function renderDecommissioned() {
    deliveryCard.querySelector('h2').textContent = 'Delivery';
    mount(
      delivery,
      h(
        'div',
        { class: 'push-summary', id: 'decommissioned-summary' },
        h('strong', null, 'Decommissioned: this device gets no updates.'),
        h('div', { class: 'muted' }, `Since ${fmtTime(device.decommissionedAt)} every credential it had is revoked (its token, hawkBit target token, Mender keys), on every server; no rollout targets it. Its history below stays.`),
      ),
    );
  }

  async function loadReport() {
    try {
      const last = await api('GET', `/api/v1/devices/${encodeURIComponent(id)}/report`);
      const scalars = Object.entries(last.report).filter(([, v]) => v === null || typeof v !== 'object');
      mount(
        report,
        h('dl', { class: 'fields' }, field('Reported', h('span', { title: fmtTime(last.reportedAt) }, fmtAgo(last.reportedAt))), scalars.slice(0, 9).map(([k, v]) => field(k, v === null ? '—' : String(v)))),
        h('details', { class: 'raw' }, h('summary', null, 'Raw report and inventory'), h('pre', { class: 'json' }, JSON.stringify({ report: last.report, inventory: last.inventory }, null, 2))),
      );
    } catch (error) {
      mount(report, error.status === 404 ? emptyState('This device has not reported yet.') : errorBox(error));
    }
  }

  async function loadEvents() {
    try {
      const page = await api('GET', '/api/v1/events', { query: { deviceId: id, limit: 30 } });
      const items = page.items ?? [];
      mount(events, items.length ? h('ul', { class: 'event-list' }, items.map(eventRow)) : emptyState('Nothing has happened to this device yet.'), h('div', { class: 'card-foot' }, h('a', { href: `#/events?deviceId=${encodeURIComponent(id)}`, id: 'device-event-log' }, 'All events of this device in the event log →')));
    } catch (error) {
      mount(events, errorBox(error));
    }
  }

  async function load() {
    await loadDevice();
    if (!device) return;
    const push = device.mode !== 'pull';
    deliveryCard.querySelector('h2').textContent = push ? 'Push delivery' : 'Current target';
    // Push devices do not report: their state is what the last delivery did.
    mount(lower, push ? null : card('Last report', report), card('Events', events));
    lower.className = push ? '' : 'grid grid-2';
    const [executions] = await Promise.all([history.load(), push ? null : loadReport(), loadEvents()]);
    const note = installedAnyway(device, executions);
    // Beside the version it explains.
    if (note) details.querySelector('#device-version')?.after(note);
    if (device.decommissionedAt) renderDecommissioned();
    else if (push) renderPush(executions);
    else await loadPullTarget(executions);
  }

  load();
  const refresh = throttle(load, 1500);
  live.focus({ deviceId: id });
  return live.subscribe(() => refresh());
}
