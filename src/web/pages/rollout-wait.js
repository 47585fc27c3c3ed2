// What a rollout waits for, from the API's `waiting` and `waitingUntil`: a badge ("waiting for
// approval", "soak until 14:05", "window opens 02:00", "rate limit until 14:05:30", "starts at
// 3 Dec, 09:00"), the Approve button that ends an approval wait (operators and admins only), and
// the time left, which is the API's etaSeconds and never a guess: none while paused or waiting.
import { api, canOperate } from '../api.js';
import { fmtDuration, h } from '../util.js';
import { FINISHED } from './rollout-counts.js';

/** "14:05" today, "3 Dec, 02:00" another day; seconds where a wait is short (rate limits). */
function clock(iso, seconds = false) {
  const d = new Date(iso);
  const time = { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}) };
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString(undefined, time) : d.toLocaleString(undefined, { day: 'numeric', month: 'short', ...time });
}

/** What the rollout waits for, in words, and how it ends (the badge's tooltip); null when it does not wait. */
export function waitOf(r) {
  const until = r.waitingUntil;
  const next = (r.currentPhase ?? 0) + 2;
  switch (r.waiting) {
    case 'approval':
      return { text: 'waiting for approval', hint: `Phase ${next - 1} passed; phase ${next} starts when an operator approves (orchestrator rollouts approve ${r.id}).` };
    case 'soak':
      return { text: until ? `soak until ${clock(until)}` : 'soaking', hint: `Phase ${next - 1} passed and soaks before phase ${next}; it goes on by itself.` };
    case 'window':
      return { text: until ? `window opens ${clock(until)}` : 'window closed', hint: 'The pending devices are outside their maintenance window; delivery goes on by itself when it opens.' };
    case 'rate-limit':
      return { text: until ? `rate limit until ${clock(until, true)}` : 'rate limit', hint: "This minute's starts are used up; the next start is due by itself." };
    case 'start':
      return { text: until ? `starts at ${clock(until)}` : 'not started', hint: 'A scheduled rollout starts by itself at its start time.' };
    default:
      return null;
  }
}

/** The badge, or null when the rollout does not wait. */
export function waitBadge(r) {
  const wait = waitOf(r);
  return wait ? h('span', { class: `wait-badge wait-${r.waiting}`, dataset: { waiting: r.waiting }, title: wait.hint }, wait.text) : null;
}

/**
 * Time left: "about 3 min left" from the API's etaSeconds while it delivers; "no ETA: waiting for
 * approval" (or the other wait, or "paused") otherwise, never a guess; null once finished.
 */
export function etaText(r) {
  if (FINISHED.includes(r.status)) return null;
  const wait = waitOf(r);
  if (wait) return `no ETA: ${wait.text}`;
  if (r.status === 'paused') return 'no ETA: paused';
  const eta = r.progress?.etaSeconds;
  return typeof eta === 'number' ? `about ${fmtDuration(eta)} left` : 'no ETA yet';
}

/** Waiting for approval, or (approval given ahead) a running phase that will need it. */
export const needsApproval = (r) => r.waiting === 'approval' || (r.status === 'running' && Boolean(r.phases?.[r.currentPhase]?.requireApproval) && r.approvedPhase < r.currentPhase);

/**
 * The Approve button for a rollout that needs approval, for roles that may change rollouts;
 * null otherwise. `done(error)` after the request (null on success).
 */
export function approveButton(r, done, { id = 'btn-approve', small = false } = {}) {
  if (!needsApproval(r) || !canOperate()) return null;
  const phase = (r.currentPhase ?? 0) + 1;
  const button = h(
    'button',
    {
      type: 'button',
      class: `btn btn-primary${small ? ' btn-sm' : ''}`,
      id,
      dataset: { approve: r.id },
      title: `Approve phase ${phase}: phase ${phase + 1} starts`,
      onclick: async (event) => {
        // In a clickable row: approve, do not open the rollout.
        event.stopPropagation();
        event.preventDefault();
        button.disabled = true;
        try {
          await api('POST', `/api/v1/rollouts/${encodeURIComponent(r.id)}/approve`, { body: {} });
          done(null);
        } catch (error) {
          button.disabled = false;
          done(error);
        }
      },
    },
    small ? 'Approve' : `Approve phase ${phase}`,
  );
  return button;
}
