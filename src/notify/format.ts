// What a notification looks like on the wire: the event as JSON, or a Slack-compatible
// {"text": ...} message for rollout status changes. Pure.
import type { EventRecord } from '../core/index.js';
import type { SubscriptionFormat } from '../store/index.js';

/** Event types a Slack subscription gets when it names none. */
export const SLACK_DEFAULT_EVENTS = ['rollout.paused', 'rollout.failed', 'rollout.completed'];
/** Event types a JSON subscription gets when it names none. */
export const JSON_DEFAULT_EVENTS = ['rollout.*'];

const ICONS: Record<string, string> = {
  'rollout.paused': ':double_vertical_bar:',
  'rollout.failed': ':x:',
  'rollout.completed': ':white_check_mark:',
  'rollout.resumed': ':arrow_forward:',
  'rollout.cancelled': ':no_entry_sign:',
};

function slackText(event: EventRecord): string {
  const data = event.data;
  const name = typeof data.name === 'string' && data.name ? `*${data.name}* (${event.rolloutId ?? '?'})` : `*${event.rolloutId ?? 'rollout'}*`;
  const verb = event.type.startsWith('rollout.') ? event.type.slice('rollout.'.length) : event.type;
  const reason = typeof data.reason === 'string' ? data.reason : typeof data.statusReason === 'string' ? data.statusReason : null;
  const counts = data.counts && typeof data.counts === 'object' ? Object.entries(data.counts as Record<string, number>).map(([k, v]) => `${k}: ${v}`).join(', ') : null;
  const icon = ICONS[event.type] ?? ':information_source:';
  return [`${icon} Rollout ${name} ${verb}`, reason ? `Reason: ${reason}` : null, counts ? `Devices: ${counts}` : null, `_${event.ts} by ${event.actor ?? 'system'}_`].filter(Boolean).join('\n');
}

/** The request body for one event in a subscription's format. */
export function formatNotification(event: EventRecord, format: SubscriptionFormat): string {
  if (format === 'slack') return JSON.stringify({ text: slackText(event) });
  return JSON.stringify({ id: event.id, type: event.type, ts: event.ts, actor: event.actor, rolloutId: event.rolloutId, deviceId: event.deviceId, executionId: event.executionId, data: event.data });
}
