// The rollout page's failures, the dead-letter view: every execution that failed or rolled back,
// from the rollout's device list (not from events, so it agrees with the counts), with its last
// error or rollback reason, attempts and when it ended; paged by cursor. Operators and admins can
// retry one device or every failed one (POST /api/v1/rollouts/:id/retry): the answer says how many
// were re-queued, and a refusal says why.
import { api, canOperate } from '../api.js';
import { emptyState, errorBox, fmtAgo, fmtNumber, fmtTime, h, mount } from '../util.js';
import { FAILED_STATES } from './rollout-counts.js';
import { errorCell, logLink, stateCell, stateSince } from './rollout-devices.js';

const PAGE = 50;

/** What a retry did, in words. */
function retriedText({ retried, reopened }, deviceId) {
  const what = deviceId ? `${deviceId} was re-queued` : `${fmtNumber(retried)} failed device${retried === 1 ? ' was' : 's were'} re-queued`;
  return `${what} with fresh attempts${reopened ? '; the rollout runs again' : ''}.`;
}

/** `onRetried()` after a retry that re-queued something (the page reloads the rollout); `version()` as for rolloutDevices. */
export function rolloutFailures(rolloutId, { onRetried, version = () => null } = {}) {
  const body = h('div', { id: 'failures' });
  const pager = h('div', { class: 'pager' });
  const result = h('div', { id: 'retry-result', 'aria-live': 'polite' });
  const retryAll = canOperate() ? h('button', { type: 'button', class: 'btn btn-sm', id: 'btn-retry-all', hidden: true, onclick: () => retry(null, retryAll) }, 'Retry all failed') : null;
  let cursors = [undefined];
  let page = 0;
  let generation = 0;
  let retrying = false;

  async function retry(deviceId, button) {
    if (retrying) return;
    retrying = true;
    button.disabled = true;
    try {
      const answer = await api('POST', `/api/v1/rollouts/${encodeURIComponent(rolloutId)}/retry`, { body: deviceId ? { deviceId } : {} });
      mount(result, h('div', { class: 'alert alert-ok', role: 'status' }, retriedText(answer, deviceId)));
      await onRetried?.();
    } catch (error) {
      mount(result, errorBox(new Error(`Retry${deviceId ? ` of ${deviceId}` : ''} failed: ${error.message}`)));
    } finally {
      retrying = false;
      button.disabled = false;
    }
  }

  const row = (e, retryable) => {
    const since = stateSince(e);
    const retryOne = retryable ? h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': `Retry ${e.deviceId}`, onclick: (event) => retry(e.deviceId, event.currentTarget) }, 'Retry') : null;
    return h(
      'tr',
      { dataset: { device: e.deviceId } },
      h('td', { class: 'nowrap' }, h('a', { href: `#/devices/${encodeURIComponent(e.deviceId)}` }, e.deviceId)),
      stateCell(e, version()),
      errorCell(e),
      h('td', { class: 'num' }, fmtNumber(e.attempts)),
      h('td', { class: 'muted nowrap', title: since ? fmtTime(since) : '' }, since ? fmtAgo(since) : '—'),
      h('td', null, logLink(rolloutId, e.deviceId)),
      canOperate() ? h('td', null, retryOne) : null,
    );
  };

  /** Reloads the page shown; `rollout` (its status) says whether a retry is possible. */
  async function load(rollout) {
    const mine = ++generation;
    // Retry re-queues failures of a rollout that runs, is paused or ended; not of one rolled back or not started.
    const retryable = canOperate() && !['rolled-back', 'scheduled'].includes(rollout?.status);
    try {
      const answer = await api('GET', `/api/v1/rollouts/${encodeURIComponent(rolloutId)}/devices`, { query: { state: FAILED_STATES.join(','), limit: PAGE, cursor: cursors[page] } });
      if (mine !== generation) return;
      const items = answer.items ?? [];
      cursors[page + 1] = answer.nextCursor ?? undefined;
      if (retryAll) {
        retryAll.hidden = !retryable || !answer.total;
        retryAll.textContent = answer.total > 1 ? `Retry all ${fmtNumber(answer.total)} failed` : 'Retry failed';
      }
      const columns = ['Device', 'State', 'Last error or reason', 'Attempts', 'Ended', 'Log', ...(canOperate() ? [''] : [])];
      mount(
        body,
        items.length
          ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'failure-table' }, h('thead', null, h('tr', null, columns.map((c) => h('th', null, c)))), h('tbody', null, items.map((e) => row(e, retryable)))))
          : emptyState('No failures.'),
      );
      mount(
        pager,
        h('span', { class: 'muted' }, answer.total > items.length || page > 0 ? `${fmtNumber(page * PAGE + 1)}–${fmtNumber(page * PAGE + items.length)} of ${fmtNumber(answer.total)}` : ''),
        answer.nextCursor || page > 0
          ? h('div', { class: 'pager-buttons' }, h('button', { class: 'btn btn-sm', disabled: page === 0, onclick: () => ((page -= 1), load(rollout)) }, '← Previous'), h('button', { class: 'btn btn-sm', disabled: !answer.nextCursor, onclick: () => ((page += 1), load(rollout)) }, 'Next →'))
          : null,
      );
    } catch (error) {
      if (mine === generation) mount(body, errorBox(error));
    }
  }

  return { el: h('div', null, result, body, pager), actions: retryAll, load };
}
