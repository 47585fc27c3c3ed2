// One rollout, live: status and actions (pause, resume, approve, cancel, rollback; hidden for
// viewers), progress per phase, completions over time, failures with their reasons.
import { api, canOperate } from '../api.js';
import { lineChart, stacked } from '../charts.js';
import { live } from '../live.js';
import { card, emptyState, errorBox, fmtAgo, fmtBytes, fmtNumber, fmtTime, h, mount, pill, throttle } from '../util.js';
import { partsOf } from './shared.js';

const FINISHED = ['completed', 'failed', 'cancelled', 'rolled-back'];
const MAX_HISTORY_PAGES = 20;

export function render(main, [id], { setTitle }) {
  const head = h('div', { class: 'rollout-head' });
  const overall = h('div');
  const phases = h('div');
  const chart = h('div');
  const failures = h('div');
  const notice = h('div');
  mount(main, notice, head, h('div', { class: 'grid grid-2' }, card('Progress', overall), card('Phases', phases)), card('Completions over time', chart), card('Failures', failures));

  let rollout = null;
  let artifactName = null;
  const fact = (label, value) => h('div', { class: 'field' }, h('dt', null, label), h('dd', null, value));
  const succeeded = [];
  const failed = [];
  const failedRows = new Map();
  const seen = new Set();

  const act = async (action, label) => {
    try {
      mount(notice);
      await api('POST', `/api/v1/rollouts/${encodeURIComponent(id)}/${action}`, { body: {} });
      await loadRollout();
    } catch (error) {
      mount(notice, errorBox(new Error(`${label} failed: ${error.message}`)));
    }
  };

  function actions(r) {
    if (!canOperate()) return h('span', { class: 'muted small', id: 'read-only' }, 'Read-only: your role cannot change rollouts');
    const phase = r.phases?.[r.currentPhase];
    const buttons = [];
    if (['running', 'scheduled'].includes(r.status)) buttons.push(h('button', { class: 'btn', id: 'btn-pause', onclick: () => act('pause', 'Pause') }, 'Pause'));
    if (r.status === 'paused') buttons.push(h('button', { class: 'btn btn-primary', id: 'btn-resume', onclick: () => act('resume', 'Resume') }, 'Resume'));
    if (r.status === 'running' && phase?.requireApproval && r.approvedPhase < r.currentPhase) buttons.push(h('button', { class: 'btn btn-primary', id: 'btn-approve', onclick: () => act('approve', 'Approve') }, `Approve phase ${r.currentPhase + 1}`));
    if (!FINISHED.includes(r.status)) buttons.push(h('button', { class: 'btn btn-danger-ghost', id: 'btn-cancel', onclick: () => window.confirm('Cancel this rollout? Devices not yet updated are skipped.') && act('cancel', 'Cancel') }, 'Cancel'));
    if (r.status !== 'rolled-back' && !r.rollbackOf) buttons.push(h('button', { class: 'btn btn-danger', id: 'btn-rollback', onclick: () => window.confirm('Roll back every updated device to its previous version?') && act('rollback', 'Rollback') }, 'Roll back'));
    return h('div', { class: 'btn-group' }, buttons);
  }

  function renderRollout(r, progress) {
    setTitle(r.name || `Rollout ${r.id.slice(0, 8)}`);
    const total = progress?.total ?? Object.values(r.counts ?? {}).reduce((s, n) => s + n, 0);
    const { parts } = partsOf(r.counts, total);
    const done = parts.filter((p) => p.done).reduce((s, p) => s + p.value, 0);
    mount(
      head,
      h('div', { class: 'rollout-title' }, pill(r.status), h('span', { class: 'muted', id: 'rollout-status' }, r.statusReason ?? ''), h('span', { class: 'muted small' }, `${r.strategy} · created ${fmtAgo(r.createdAt)} by ${r.createdBy ?? '?'}`)),
      actions(r),
    );
    mount(
      overall,
      h('div', { class: 'big-progress' }, h('span', { class: 'big-number', id: 'rollout-percent' }, total ? `${Math.round((done / total) * 100)}%` : '—'), h('span', { class: 'muted' }, ` ${fmtNumber(done)} of ${fmtNumber(total)} devices finished`)),
      stacked(parts, total),
      h('ul', { class: 'legend legend-inline' }, parts.map((p) => h('li', null, h('span', { class: `swatch ${p.cls}` }), `${p.label} `, h('strong', null, fmtNumber(p.value))))),
      progress?.ratePerSecond ? h('div', { class: 'muted small' }, `${progress.ratePerSecond.toFixed(1)} devices/s`, progress.etaSeconds && !FINISHED.includes(r.status) ? ` · about ${Math.ceil(progress.etaSeconds / 60)} min left` : '') : null,
      h(
        'dl',
        { class: 'facts' },
        fact('Artifact', artifactName ?? r.artifactId.slice(0, 8)),
        fact('Started', r.startedAt ? fmtTime(r.startedAt) : 'not yet'),
        fact(r.finishedAt ? 'Finished' : 'Stops when', r.finishedAt ? fmtTime(r.finishedAt) : r.errorThreshold ? `failures > ${r.errorThreshold.percent}% (${r.errorThreshold.action})` : 'never by itself'),
        fact('Concurrency', r.maxConcurrency ? fmtNumber(r.maxConcurrency) : 'unlimited'),
        fact('Window', r.window ? (r.window.daily ?? r.window.cron ?? 'set') : 'any time'),
        fact('Data sent', progress?.bytes ? fmtBytes(progress.bytes) : '—'),
      ),
    );
    const phaseList = progress?.phases ?? (r.phases ?? []).map((_, i) => ({ phase: i + 1, devices: i === 0 ? total : 0, counts: i === 0 ? r.counts : {} }));
    mount(
      phases,
      h(
        'ol',
        { class: 'phases' },
        phaseList.map((p, i) => {
          const spec = r.phases?.[i] ?? {};
          const pp = partsOf(p.counts, p.devices);
          const ok = pp.parts[0].value;
          const state = i < r.currentPhase ? 'done' : i === r.currentPhase && !FINISHED.includes(r.status) ? 'current' : FINISHED.includes(r.status) && i <= r.currentPhase ? 'done' : 'waiting';
          return h(
            'li',
            { class: `phase phase-${state}` },
            h('div', { class: 'row-between' }, h('strong', null, `Phase ${p.phase}`), h('span', { class: 'muted small' }, `${spec.percent !== undefined ? `${spec.percent}%` : `${spec.count} devices`}${spec.requireApproval ? ' · approval' : ''}${spec.soakSeconds ? ` · soak ${spec.soakSeconds}s` : ''}`)),
            stacked(pp.parts, p.devices),
            h('div', { class: 'muted small' }, `${fmtNumber(ok)} / ${fmtNumber(p.devices)} succeeded`, pp.parts[1].value ? h('span', { class: 'text-bad' }, ` · ${fmtNumber(pp.parts[1].value)} failed`) : null),
          );
        }),
      ),
    );
  }

  function renderChart() {
    const from = rollout?.startedAt ? Date.parse(rollout.startedAt) : undefined;
    const to = rollout?.finishedAt ? Date.parse(rollout.finishedAt) : Date.now();
    mount(chart, lineChart([{ name: 'succeeded', cls: 'c-ok', points: succeeded }, { name: 'failed', cls: 'c-bad', points: failed }], { from, to }));
    const rows = [...failedRows.values()].slice(-50).reverse();
    const failureRow = (e) =>
      h(
        'tr',
        null,
        h('td', null, h('a', { href: `#/devices/${encodeURIComponent(e.deviceId)}` }, e.deviceId)),
        h('td', { class: 'text-bad' }, e.data?.error ?? e.data?.reason ?? 'failed'),
        h('td', { class: 'muted', title: fmtTime(e.ts) }, fmtAgo(e.ts)),
      );
    const thead = h('thead', null, h('tr', null, ['Device', 'Reason', 'When'].map((c) => h('th', null, c))));
    mount(failures, rows.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'failure-table' }, thead, h('tbody', null, rows.map(failureRow)))) : emptyState('No failures.'));
  }

  function addEvents(events) {
    for (const e of events) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      const t = Date.parse(e.ts);
      if (e.type === 'execution.succeeded') succeeded.push([t, succeeded.length + 1]);
      else if (e.type === 'execution.failed') {
        failed.push([t, failed.length + 1]);
        failedRows.set(e.deviceId, e);
      }
    }
  }

  async function loadRollout() {
    try {
      rollout = await api('GET', `/api/v1/rollouts/${encodeURIComponent(id)}`);
      if (!artifactName) {
        const artifact = await api('GET', `/api/v1/artifacts/${encodeURIComponent(rollout.artifactId)}`).catch(() => null);
        artifactName = artifact ? `${artifact.name} ${artifact.version}` : null;
      }
      let progress = rollout.progress ?? null;
      if (!progress) progress = await api('GET', `/api/v1/rollouts/${encodeURIComponent(id)}/progress`).catch(() => null);
      renderRollout(rollout, progress);
      renderChart();
    } catch (error) {
      mount(head, errorBox(error));
    }
  }

  async function loadHistory() {
    let afterId = 0;
    for (let i = 0; i < MAX_HISTORY_PAGES; i++) {
      const page = await api('GET', '/api/v1/events', { query: { rolloutId: id, type: ['execution.succeeded', 'execution.failed'], afterId, limit: 1000 } }).catch(() => null);
      const items = page?.items ?? [];
      addEvents(items);
      if (items.length < 1000) break;
      afterId = items[items.length - 1].id;
    }
    renderChart();
  }

  const refresh = throttle(loadRollout, 500);
  loadRollout().then(loadHistory);
  live.focus({ rolloutId: id });
  const stop = live.subscribe((events, gap) => {
    if (gap) loadHistory();
    addEvents(events);
    refresh();
  });
  const tick = window.setInterval(() => rollout && !FINISHED.includes(rollout.status) && renderChart(), 5000);
  return () => {
    stop();
    window.clearInterval(tick);
  };
}
