// A device's deployment history (GET /api/v1/devices/:id/executions): every rollout that targeted
// it, newest first, with the artifact, state, phase, attempts, bytes, last error, time in state
// and its log in that rollout, the same details as the rollout page's device list.
import { api } from '../api.js';
import { emptyState, errorBox, fmtAgo, fmtBytes, fmtDuration, fmtNumber, fmtTime, h, mount } from '../util.js';
import { errorCell, logLink, stateCell, stateSince } from './rollout-devices.js';

const PAGE = 20;
const TERMINAL = ['succeeded', 'failed', 'rolled-back', 'cancelled', 'skipped'];

/** Names of rollouts and artifacts, fetched once per id. */
function namer(path, describe) {
  const cache = new Map();
  return (id) => {
    if (!cache.has(id)) cache.set(id, api('GET', `${path}/${encodeURIComponent(id)}`).then(describe, () => null));
    return cache.get(id);
  };
}

export function deviceHistory(deviceId) {
  const body = h('div', { id: 'device-history' });
  const pager = h('div', { class: 'pager' });
  const rolloutName = namer('/api/v1/rollouts', (r) => r.name || null);
  const artifactName = namer('/api/v1/artifacts', (a) => `${a.name} ${a.version}`);
  let cursors = [undefined];
  let page = 0;
  let generation = 0;
  let items = [];
  let newest = null;

  /** Bytes fetched (or delivered, for agents that do not say), and what a delta reused. */
  const transferText = (e) => {
    const fetched = typeof e.bytesFetched === 'number' ? e.bytesFetched : e.bytes;
    if (!fetched && !e.bytesReused) return '—';
    return e.bytesReused ? `${fmtBytes(fetched ?? 0)} (+${fmtBytes(e.bytesReused)} reused)` : fmtBytes(fetched);
  };

  const row = (e, names) => {
    const since = stateSince(e);
    const final = TERMINAL.includes(e.state);
    return h(
      'tr',
      { dataset: { rollout: e.rolloutId, state: e.state } },
      h('td', null, h('a', { href: `#/rollouts/${encodeURIComponent(e.rolloutId)}`, title: e.rolloutId }, names.rollouts.get(e.rolloutId) ?? e.rolloutId.slice(0, 8))),
      h('td', null, names.artifacts.get(e.artifactId) ?? e.artifactId?.slice(0, 8) ?? '—'),
      stateCell(e, e.artifact?.version),
      h('td', null, typeof e.phase === 'number' ? String(e.phase + 1) : '—'),
      h('td', { class: 'num' }, fmtNumber(e.attempts)),
      h('td', { class: 'num', title: e.bytesReused ? `${fmtBytes(e.bytesReused)} reused from what the device held` : '' }, transferText(e)),
      errorCell(e),
      h('td', { class: 'muted nowrap', title: since ? fmtTime(since) : '' }, since ? (final ? fmtAgo(since) : `for ${fmtDuration((Date.now() - Date.parse(since)) / 1000)}`) : '—'),
      h('td', null, logLink(e.rolloutId, deviceId)),
    );
  };

  async function load() {
    const mine = ++generation;
    try {
      const result = await api('GET', `/api/v1/devices/${encodeURIComponent(deviceId)}/executions`, { query: { limit: PAGE, cursor: cursors[page] } });
      if (mine !== generation) return newest;
      items = result.items ?? [];
      cursors[page + 1] = result.nextCursor ?? undefined;
      const names = { rollouts: new Map(), artifacts: new Map() };
      await Promise.all([
        ...[...new Set(items.map((e) => e.rolloutId))].map(async (id) => names.rollouts.set(id, await rolloutName(id))),
        ...[...new Set(items.map((e) => e.artifactId).filter(Boolean))].map(async (id) => names.artifacts.set(id, await artifactName(id))),
      ]);
      if (mine !== generation) return newest;
      mount(
        body,
        items.length
          ? h('div', { class: 'table-wrap' }, h('table', { class: 'table table-compact', id: 'history-table' }, h('thead', null, h('tr', null, ['Rollout', 'Artifact', 'State', 'Phase', 'Attempts', 'Data', 'Last error', 'When', 'Log'].map((c) => h('th', null, c)))), h('tbody', null, items.map((e) => row(e, names)))))
          : emptyState(page ? 'No older deployments.' : 'No rollout has targeted this device yet.'),
      );
      mount(
        pager,
        h('span'),
        result.nextCursor || page > 0
          ? h('div', { class: 'pager-buttons' }, h('button', { class: 'btn btn-sm', disabled: page === 0, onclick: () => ((page -= 1), load()) }, '← Newer'), h('button', { class: 'btn btn-sm', disabled: !result.nextCursor, onclick: () => ((page += 1), load()) }, 'Older →'))
          : null,
      );
      if (page === 0) newest = items;
      return newest;
    } catch (error) {
      if (mine === generation) mount(body, errorBox(error));
      return newest;
    }
  }

  return {
    el: h('div', null, body, pager),
    /** Reloads the page shown; answers the newest executions (the first page, as last loaded). */
    load,
  };
}
