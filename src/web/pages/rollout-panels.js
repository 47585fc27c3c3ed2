// The rollout page's Progress and Phases panels. Every number comes from the rollout's `counts`
// (per phase: progress.phases[].counts) and `progress`; nothing is counted from events here.
import { stacked } from '../charts.js';
import { fmtBytes, fmtDuration, fmtNumber, fmtTime, h, mount } from '../util.js';
import { countsText, FINISHED, partsOf } from './rollout-counts.js';
import { etaText } from './rollout-wait.js';

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

/** A rate in decimal units, as operators write the caps (50MB/s is 50,000,000 bytes per second). */
function fmtRate(bytesPerSecond) {
  for (const [size, unit] of [[1e9, 'GB/s'], [1e6, 'MB/s'], [1e3, 'kB/s']]) if (bytesPerSecond >= size) return `${Math.round((bytesPerSecond / size) * 100) / 100} ${unit}`;
  return `${bytesPerSecond} B/s`;
}

/** Bandwidth caps, bytes per second: the total (per server) and per device. */
function bandwidthText(r) {
  const bits = [];
  if (r.maxBandwidth) bits.push(`${fmtRate(r.maxBandwidth)} in total (per server)`);
  if (r.maxDeviceBandwidth) bits.push(`${fmtRate(r.maxDeviceBandwidth)} per device`);
  return bits.length ? bits.join(' · ') : 'no cap';
}

/** release: { name, version } of a release rollout (each device got its own artifact of it), else null. */
export function renderProgress(el, r, artifactName, release = null) {
  const progress = r.progress;
  const { parts, total } = partsOf(r.counts, progress.total);
  const pct = progress.percentDone;
  const shown = parts.filter((p) => p.value > 0 || p.key === 'succeeded' || p.key === 'failed');
  const eta = etaText(r);
  mount(
    el,
    h(
      'div',
      { class: 'big-progress' },
      h('span', { class: 'big-number', id: 'rollout-percent', title: 'devices in a final state (succeeded, failed, rolled back, cancelled or skipped)' }, typeof pct === 'number' ? `${Math.floor(pct)}%` : '—'),
      h('span', { class: 'muted', id: 'rollout-finished' }, ` done: ${fmtNumber(progress.finished)} of ${fmtNumber(progress.total)} devices finished`),
    ),
    h(
      'div',
      { class: 'outcome', id: 'rollout-outcome' },
      h('strong', { class: 'text-ok' }, `${fmtNumber(progress.succeeded)} succeeded`),
      ' · ',
      h('strong', { class: progress.failed ? 'text-bad' : '' }, `${fmtNumber(progress.failed)} failed or rolled back`),
      typeof progress.successRate === 'number' ? h('span', { class: 'muted', id: 'rollout-success-rate' }, ` · ${Math.round(progress.successRate * 10) / 10}% of the finished succeeded`) : null,
    ),
    stacked(parts, total),
    h('ul', { class: 'legend legend-inline', id: 'progress-legend' }, shown.map((p) => h('li', { dataset: { group: p.key, count: String(p.value) } }, h('span', { class: `swatch ${p.cls}` }), `${p.label} `, h('strong', null, fmtNumber(p.value))))),
    progress.installedAfterCancel ? h('div', { class: 'small text-warn', id: 'rollout-installed-after-cancel' }, `${fmtNumber(progress.installedAfterCancel)} cancelled device${progress.installedAfterCancel === 1 ? '' : 's'} installed it anyway (the cancel reached ${progress.installedAfterCancel === 1 ? 'it' : 'them'} too late); counted as cancelled.`) : null,
    // No rate or ETA while it waits or is paused: the last minute's rate says nothing about when it goes on.
    eta === null ? null : h('div', { class: 'muted small', id: 'rollout-rate' }, progress.ratePerSecond && typeof progress.etaSeconds === 'number' ? `${progress.ratePerSecond.toFixed(1)} devices/s · ` : '', h('span', { id: 'rollout-eta' }, eta)),
    h(
      'dl',
      { class: 'facts' },
      r.releaseId ? fact('Release', h('a', { href: `#/releases/${encodeURIComponent(r.releaseId)}`, id: 'rollout-release' }, release ? `${release.name} ${release.version}` : r.releaseId.slice(0, 8))) : fact('Artifact', artifactName ?? r.artifactId.slice(0, 8)),
      fact('Started', r.startedAt ? fmtTime(r.startedAt) : r.startAt ? `at ${fmtTime(r.startAt)}` : 'not yet'),
      fact(r.finishedAt ? 'Finished' : 'Stops when', r.finishedAt ? fmtTime(r.finishedAt) : r.errorThreshold ? `failures > ${r.errorThreshold.percent}% of a phase (${r.errorThreshold.action})` : 'never by itself'),
      fact('Pace', paceText(r)),
      fact('Window', windowText(r.window)),
      r.downloadAhead ? fact('Download ahead', h('span', { id: 'rollout-ready' }, `${fmtNumber(progress?.downloaded ?? 0)} of ${fmtNumber(progress?.total ?? 0)} devices ready, installing when the window opens`)) : null,
      fact('Bandwidth', bandwidthText(r)),
      fact('Data sent', dataSent(progress)),
      progress?.bytesReused ? fact('Saved by deltas', h('span', { id: 'rollout-delta-saved' }, `${fmtBytes(progress.bytesReused)} (${Math.round((progress.bytesReused / (progress.bytesReused + (progress.bytesFetched ?? 0))) * 100)}% of the data came from what devices held)`)) : null,
    ),
  );
}

export function renderPhases(el, r) {
  const phaseList = r.progress.phases;
  mount(
    el,
    h(
      'ol',
      { class: 'phases' },
      phaseList.map((p, i) => {
        const spec = r.phases?.[i] ?? {};
        const { parts, total } = partsOf(p.counts, p.devices);
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
