// The rollout page's device list: every device of the rollout (not only failures) with its state,
// phase, attempts, bytes fetched and reused, last error, time in state and a link to its log, filtered by state
// (the tab counts are the rollout's `counts`, the same numbers as every other panel), paged by
// cursor and refreshed live by the page.
import { api } from '../api.js';
import { emptyState, errorBox, fmtBytes, fmtDuration, fmtNumber, fmtTime, h, mount, pill } from '../util.js';
import { STATE_GROUPS as GROUPS, groupCount } from './rollout-counts.js';

/** The tabs: every device, then the state groups every rollout panel uses. */
const TABS = [{ key: 'all', label: 'all', states: [] }, ...GROUPS];

const PAGE = 50;

/** Since when the execution is in its state: the API's stateSince (updatedAt from older servers). */
export const stateSince = (e) => e.stateSince ?? e.updatedAt ?? null;

/**
 * The state pill and, for a device that installed after the cancel, what it really runs:
 * "Cancelled · installed anyway (2.0.1)", with the note. `version`: the version the execution
 * delivered (the rollout's artifact).
 */
export function stateCell(e, version) {
  const anyway = e.installedAfterCancel ? h('span', { class: 'installed-anyway', title: 'The cancel reached the device after its install had started; it runs this version now.' }, `installed anyway${version ? ` (${version})` : ''}`) : null;
  return h('td', { class: 'state-cell' }, pill(e.state), anyway, e.note ? h('div', { class: 'small text-warn note' }, e.note) : null);
}

/** The last error; a device that rolled itself back shows why (its health check's message). */
export function errorCell(e) {
  if (!e.error) return h('td', { class: 'muted' }, '—');
  return h('td', { class: e.state === 'rolled-back' ? 'text-purple error-cell' : 'text-bad error-cell', title: e.error }, e.state === 'rolled-back' ? `rolled back: ${e.error}` : e.error);
}

export function logLink(rolloutId, deviceId) {
  return h('a', { href: `#/events?rolloutId=${encodeURIComponent(rolloutId)}&deviceId=${encodeURIComponent(deviceId)}`, class: 'small', 'aria-label': `Events of ${deviceId} in this rollout` }, 'log');
}

/** `version()`: the version the rollout delivers, once known (its artifact's). */
export function rolloutDevices(rolloutId, { initial = 'all', onFilter, version = () => null } = {}) {
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Filter devices by state', id: 'device-state-tabs' });
  const body = h('div', { id: 'rollout-devices' });
  const pager = h('div', { class: 'pager' });
  let group = TABS.find((g) => g.key === initial) ?? TABS[0];
  let cursors = [undefined];
  let page = 0;
  let counts = {};
  let devicesInRollout = 0;
  let items = [];
  let nextCursor = null;
  let total = 0;
  let generation = 0;

  function drawTabs() {
    mount(
      tabs,
      TABS.map((g) => {
        const n = g.key === 'all' ? devicesInRollout : groupCount(g, counts);
        return h(
          'button',
          { type: 'button', role: 'tab', class: `tab${g === group ? ' tab-active' : ''}`, 'aria-selected': g === group ? 'true' : 'false', dataset: { state: g.key }, disabled: n === 0 && g !== group && g.key !== 'all', onclick: () => select(g) },
          g.label[0].toUpperCase() + g.label.slice(1),
          h('span', { class: 'tab-count' }, fmtNumber(n)),
        );
      }),
    );
  }

  /** Bytes fetched over the network when the device says so (delta-aware agents), else the bytes delivered. */
  function fetchedBytes(e) {
    const n = typeof e.bytesFetched === 'number' ? e.bytesFetched : e.bytes;
    return n ? fmtBytes(n) : '—';
  }

  function row(e) {
    const since = stateSince(e);
    return h(
      'tr',
      { dataset: { device: e.deviceId, state: e.state } },
      h('td', { class: 'nowrap' }, h('a', { href: `#/devices/${encodeURIComponent(e.deviceId)}` }, e.deviceId)),
      stateCell(e, version()),
      h('td', null, typeof e.phase === 'number' ? String(e.phase + 1) : '—'),
      h('td', { class: 'num' }, fmtNumber(e.attempts)),
      h('td', { class: 'num', title: e.bytesFetched === null || e.bytesFetched === undefined ? 'bytes delivered' : 'bytes that crossed the network' }, fetchedBytes(e)),
      h('td', { class: 'num', title: 'bytes the device took from files it held (delta update)' }, e.bytesReused ? fmtBytes(e.bytesReused) : '—'),
      errorCell(e),
      h('td', { class: 'muted nowrap', title: since ? `since ${fmtTime(since)}` : '' }, since ? fmtDuration((Date.now() - Date.parse(since)) / 1000) : '—'),
      h('td', null, logLink(rolloutId, e.deviceId)),
    );
  }

  function draw() {
    drawTabs();
    mount(
      body,
      items.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'table table-compact', id: 'rollout-device-table' }, h('thead', null, h('tr', null, ['Device', 'State', 'Phase', 'Attempts', 'Fetched', 'Reused', 'Last error', 'In state for', 'Log'].map((c) => h('th', null, c)))), h('tbody', null, items.map(row))))
        : emptyState(group.key === 'all' ? 'This rollout has no devices yet.' : `No device is ${group.key === 'waiting' ? 'waiting' : group.label} now.`),
    );
    const from = page * PAGE + (items.length ? 1 : 0);
    mount(
      pager,
      h('span', { class: 'muted', id: 'rollout-devices-range' }, items.length ? `${fmtNumber(from)}–${fmtNumber(page * PAGE + items.length)} of ${fmtNumber(total)} devices` : ''),
      h(
        'div',
        { class: 'pager-buttons' },
        h('button', { class: 'btn btn-sm', disabled: page === 0, onclick: () => go(page - 1) }, '← Previous'),
        h('button', { class: 'btn btn-sm', id: 'rollout-devices-next', disabled: !nextCursor, onclick: () => go(page + 1) }, 'Next →'),
      ),
    );
  }

  async function load() {
    const mine = ++generation;
    try {
      const result = await api('GET', `/api/v1/rollouts/${encodeURIComponent(rolloutId)}/devices`, { query: { state: group.states.length ? group.states.join(',') : undefined, limit: PAGE, cursor: cursors[page] } });
      if (mine !== generation) return;
      items = result.items ?? [];
      nextCursor = result.nextCursor ?? null;
      total = result.total ?? items.length;
      cursors[page + 1] = nextCursor ?? undefined;
      draw();
    } catch (error) {
      if (mine === generation) mount(body, errorBox(error));
    }
  }

  function go(next) {
    page = Math.max(0, next);
    load();
  }

  function select(g) {
    group = g;
    cursors = [undefined];
    page = 0;
    onFilter?.(g.key);
    drawTabs();
    load();
  }

  return {
    el: h('div', { class: 'rollout-devices' }, tabs, body, pager),
    /** New counts and device count (progress.total) from the rollout (the tabs), and a reload of the page shown. */
    update(nextCounts, deviceCount) {
      counts = nextCounts ?? {};
      devicesInRollout = deviceCount ?? 0;
      drawTabs();
      return load();
    },
    /** Time in state moves on without a fetch. */
    tick() {
      if (items.length) draw();
    },
  };
}
