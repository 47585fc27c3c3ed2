// One rollout, live: status and actions (pause, resume, approve, cancel, rollback; hidden for
// viewers), progress per phase, completions over time, failures with their reasons and every
// device with its state; what it waits for (a badge, and Approve when it waits for approval).
// Counts come from the rollout's `counts` and `progress`; events only draw the chart's lines.
import { api, canOperate } from '../api.js';
import { lineChart } from '../charts.js';
import { live } from '../live.js';
import { card, errorBox, fmtAgo, fmtNumber, h, mount, pill, throttle } from '../util.js';
import { rolloutDevices } from './rollout-devices.js';
import { FINISHED } from './rollout-counts.js';
import { rolloutFailures } from './rollout-failures.js';
import { renderPhases, renderProgress } from './rollout-panels.js';
import { approveButton, waitBadge } from './rollout-wait.js';

const MAX_HISTORY_PAGES = 20;

export function render(main, [id], { setTitle, query, setQuery }) {
  const head = h('div', { class: 'rollout-head' });
  const overall = h('div');
  const phases = h('div');
  const chart = h('div');
  const notice = h('div');
  const version = () => artifact?.version ?? null;
  const failures = rolloutFailures(id, { onRetried: () => loadRollout(), version });
  const devices = rolloutDevices(id, { initial: query.get('state') ?? 'all', onFilter: (state) => setQuery({ state: state === 'all' ? '' : state }), version });
  const failuresCard = card('Failures', failures.el, failures.actions);
  mount(main, notice, head, h('div', { class: 'grid grid-2' }, card('Progress', overall), card('Phases', phases)), card('Completions over time', chart), failuresCard, card('Devices', devices.el));

  let rollout = null;
  let artifact = null;
  let release = null;
  const succeeded = [];
  const failed = [];
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
    const buttons = [];
    if (['running', 'scheduled'].includes(r.status)) buttons.push(h('button', { class: 'btn', id: 'btn-pause', onclick: () => act('pause', 'Pause') }, 'Pause'));
    if (r.status === 'paused') buttons.push(h('button', { class: 'btn btn-primary', id: 'btn-resume', onclick: () => act('resume', 'Resume') }, 'Resume'));
    buttons.push(approveButton(r, (error) => (error ? mount(notice, errorBox(new Error(`Approve failed: ${error.message}`))) : (mount(notice), loadRollout()))));
    if (!FINISHED.includes(r.status)) buttons.push(h('button', { class: 'btn btn-danger-ghost', id: 'btn-cancel', onclick: () => window.confirm('Cancel this rollout? Devices not yet updated are cancelled.') && act('cancel', 'Cancel') }, 'Cancel'));
    if (r.status !== 'rolled-back' && !r.rollbackOf) buttons.push(h('button', { class: 'btn btn-danger', id: 'btn-rollback', onclick: () => window.confirm('Roll back every updated device to its previous version?') && act('rollback', 'Rollback') }, 'Roll back'));
    return h('div', { class: 'btn-group' }, buttons);
  }

  function renderRollout(r) {
    setTitle(r.name || `Rollout ${r.id.slice(0, 8)}`);
    mount(
      head,
      h('div', { class: 'rollout-title' }, pill(r.status), waitBadge(r), h('span', { class: 'muted', id: 'rollout-status' }, r.statusReason ?? ''), h('span', { class: 'muted small' }, `${r.strategy} · created ${fmtAgo(r.createdAt)} by ${r.createdBy ?? '?'}`)),
      actions(r),
    );
    renderProgress(overall, r, artifact ? `${artifact.name} ${artifact.version}` : null, release);
    renderPhases(phases, r);
  }

  function renderChart() {
    const from = rollout?.startedAt ? Date.parse(rollout.startedAt) : undefined;
    const to = rollout?.finishedAt ? Date.parse(rollout.finishedAt) : Date.now();
    // The lines are the event history; the legend is the rollout's progress, like every other panel.
    const progress = rollout?.progress;
    mount(chart, lineChart([{ name: 'succeeded', cls: 'c-ok', points: succeeded, total: progress?.succeeded ?? 0 }, { name: 'failed or rolled back', cls: 'c-bad', points: failed, total: progress?.failed ?? 0 }], { from, to }));
  }

  function addEvents(events) {
    for (const e of events) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      const t = Date.parse(e.ts);
      if (e.type === 'execution.succeeded') succeeded.push([t, succeeded.length + 1]);
      else if (e.type === 'execution.failed' || e.type === 'execution.rolled-back') failed.push([t, failed.length + 1]);
    }
  }

  async function loadRollout() {
    try {
      rollout = await api('GET', `/api/v1/rollouts/${encodeURIComponent(id)}`);
      artifact ??= await api('GET', `/api/v1/artifacts/${encodeURIComponent(rollout.artifactId)}`).catch(() => null);
      if (rollout.releaseId) release ??= await api('GET', `/api/v1/releases/${encodeURIComponent(rollout.releaseId)}`).catch(() => null);
      renderRollout(rollout);
      renderChart();
      const failedNow = rollout.progress.failed;
      failuresCard.querySelector('h2').textContent = failedNow ? `Failures (${fmtNumber(failedNow)})` : 'Failures';
      await Promise.all([failures.load(rollout), devices.update(rollout.counts, rollout.progress.total)]);
    } catch (error) {
      mount(head, errorBox(error));
    }
  }

  async function loadHistory() {
    let afterId = 0;
    for (let i = 0; i < MAX_HISTORY_PAGES; i++) {
      const page = await api('GET', '/api/v1/events', { query: { rolloutId: id, type: ['execution.succeeded', 'execution.failed', 'execution.rolled-back'], afterId, limit: 1000 } }).catch(() => null);
      const items = page?.items ?? [];
      addEvents(items);
      if (!page?.nextAfterId) break;
      afterId = page.nextAfterId;
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
  const tick = window.setInterval(() => {
    if (rollout && !FINISHED.includes(rollout.status)) renderChart();
    devices.tick();
  }, 5000);
  return () => {
    stop();
    window.clearInterval(tick);
  };
}
