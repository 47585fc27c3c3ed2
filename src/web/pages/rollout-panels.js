// The rollout page's Progress and Phases panels. Every number comes from the rollout's `counts`
// (per phase: progress.phases[].counts) and `progress`; nothing is counted from events here.
import { stacked } from '../charts.js';
import { fmtBytes, fmtDuration, fmtNumber, fmtTime, h, mount } from '../util.js';
import { countsText, finishedOf, partsOf } from './rollout-counts.js';

export const FINISHED = ['completed', 'failed', 'cancelled', 'rolled-back'];

const fact = (label, value) => h('div', { class: 'field' }, h('dt', null, label), h('dd', null, value));

/** What crossed the network: the bytes devices reported fetching, or (older agents, reporting none) the bytes delivered. */
function dataSent(progress) {
  const sent = progress?.bytesFetched || progress?.bytes;
  return sent ? h('span', { id: 'rollout-data-sent' }, fmtBytes(sent)) : '—';
}

function windowText(w) {
  if (!w) return 'any time';
  const when = w.daily ? `daily ${w.daily}` : w.cron ? `${w.cron} for ${w.durationMinutes} min` : 'set';
  return `${when}, ${w.timezone ?? "each device's time zone"}`;
}

function paceText(r) {
  const bits = [r.maxConcurrency ? `${fmtNumber(r.maxConcurrency)} at a time` : 'no concurrency limit'];
  if (r.rateLimit) bits.push(`${fmtNumber(r.rateLimit.perMinute)}/min${r.rateLimit.growthFactor > 1 ? `, ×${r.rateLimit.growthFactor} every ${fmtNumber(r.rateLimit.growEvery)} successes` : ''}`);
  return bits.join(' · ');
}

/** Percent of devices in a final state: the API's progress.percentDone. */
function percentDone(r, progress) {
  if (typeof progress?.percentDone === 'number') return progress.percentDone;
  const { total } = partsOf(r.counts);
  return total ? (finishedOf(r.counts) / total) * 100 : null;
}

export function renderProgress(el, r, progress, artifactName) {
  const { parts, total } = partsOf(r.counts);
  const pct = percentDone(r, progress);
  const finished = finishedOf(r.counts);
  const shown = parts.filter((p) => p.value > 0 || p.key === 'succeeded' || p.key === 'failed');
  const eta = progress?.etaSeconds;
  mount(
    el,
    h(
      'div',
      { class: 'big-progress' },
      h('span', { class: 'big-number', id: 'rollout-percent' }, pct === null ? '—' : `${Math.floor(pct)}%`),
      h('span', { class: 'muted' }, ` ${fmtNumber(finished)} of ${fmtNumber(total)} devices finished`),
      typeof progress?.successRate === 'number' ? h('span', { class: 'muted', id: 'rollout-success-rate' }, ` · ${Math.round(progress.successRate * 10) / 10}% of them succeeded`) : null,
    ),
    stacked(parts, total),
    h('ul', { class: 'legend legend-inline', id: 'progress-legend' }, shown.map((p) => h('li', { dataset: { group: p.key, count: String(p.value) } }, h('span', { class: `swatch ${p.cls}` }), `${p.label} `, h('strong', null, fmtNumber(p.value))))),
    h('div', { class: 'muted small', id: 'rollout-rate' }, progress?.ratePerSecond ? `${progress.ratePerSecond.toFixed(1)} devices/s` : '', typeof eta === 'number' && eta > 0 && !FINISHED.includes(r.status) ? ` · about ${fmtDuration(eta)} left` : ''),
    h(
      'dl',
      { class: 'facts' },
      fact('Artifact', artifactName ?? r.artifactId.slice(0, 8)),
      fact('Started', r.startedAt ? fmtTime(r.startedAt) : r.startAt ? `at ${fmtTime(r.startAt)}` : 'not yet'),
      fact(r.finishedAt ? 'Finished' : 'Stops when', r.finishedAt ? fmtTime(r.finishedAt) : r.errorThreshold ? `failures > ${r.errorThreshold.percent}% of a phase (${r.errorThreshold.action})` : 'never by itself'),
      fact('Pace', paceText(r)),
      fact('Window', windowText(r.window)),
      fact('Data sent', dataSent(progress)),
      progress?.bytesReused ? fact('Saved by deltas', h('span', { id: 'rollout-delta-saved' }, `${fmtBytes(progress.bytesReused)} (${Math.round((progress.bytesReused / (progress.bytesReused + (progress.bytesFetched ?? 0))) * 100)}% of the data came from what devices held)`)) : null,
    ),
  );
}

export function renderPhases(el, r, progress) {
  const phaseList = progress?.phases ?? (r.phases ?? []).map((_, i) => ({ phase: i + 1, devices: i === 0 ? partsOf(r.counts).total : 0, counts: i === 0 ? r.counts : {} }));
  mount(
    el,
    h(
      'ol',
      { class: 'phases' },
      phaseList.map((p, i) => {
        const spec = r.phases?.[i] ?? {};
        const { parts, total } = partsOf(p.counts);
        const state = i < r.currentPhase ? 'done' : i === r.currentPhase && !FINISHED.includes(r.status) ? 'current' : FINISHED.includes(r.status) && i <= r.currentPhase ? 'done' : 'waiting';
        const rules = [spec.percent !== undefined ? `${spec.percent}%` : `${spec.count} devices`];
        if (spec.successThreshold) rules.push(`needs ${spec.successThreshold}% success`);
        if (spec.soakSeconds) rules.push(`soak ${fmtDuration(spec.soakSeconds)}`);
        if (spec.requireApproval) rules.push('approval');
        return h(
          'li',
          { class: `phase phase-${state}`, dataset: { phase: String(p.phase) } },
          h('div', { class: 'row-between' }, h('strong', null, `Phase ${p.phase}`), h('span', { class: 'muted small' }, rules.join(' · '))),
          stacked(parts, total),
          h('div', { class: 'muted small phase-counts' }, total ? `${countsText(p.counts)} of ${fmtNumber(total)}` : 'no devices yet'),
        );
      }),
    ),
  );
}
