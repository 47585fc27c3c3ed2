// What a notification email says: a subject naming what happened (rollout, device), and a plain
// text body a person reads at a glance (event, rollout, device, reason or error, counts, who, when,
// a dashboard link). Pure. Text from devices and operators is made printable and one-line where it
// goes into a header.
import { storableText, type EventRecord } from '../core/index.js';

/** Event types an email subscription gets when it names none. */
export const EMAIL_DEFAULT_EVENTS = ['rollout.paused', 'rollout.failed', 'rollout.completed'];

export interface EmailContext {
  /** The rollout's display name, when known. */
  rolloutName: string | null;
  /** The dashboard's base URL ("http://host:8080/"), for links; null leaves them out. */
  dashboardUrl: string | null;
  subscription: { id: string; name: string };
}

const VERBS: Record<string, string> = {
  paused: 'was paused',
  resumed: 'was resumed',
  failed: 'failed',
  completed: 'completed',
  cancelled: 'was cancelled',
  started: 'started',
  created: 'was created',
  approved: 'was approved',
  'rolled-back': 'was rolled back',
  succeeded: 'succeeded',
  'phase-reached': 'passed a phase',
  'phase-advanced': 'moved to its next phase',
};

/** One line, printable, bounded: what may go into a header or a label. */
// eslint-disable-next-line no-control-regex
const oneLine = (text: string, max: number) => storableText(text.replace(/[\u0000-\u001f\u007f\s]+/g, ' '), max * 2).trim().slice(0, max);
const str = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);

function rolloutLabel(event: EventRecord, ctx: EmailContext): string | null {
  if (!event.rolloutId) return null;
  const name = ctx.rolloutName ?? str(event.data.name);
  return name ? `"${oneLine(name, 80)}"` : event.rolloutId;
}

/** The subject line: "[update-orchestrator] Rollout "West stores" was paused". */
export function emailSubject(event: EventRecord, ctx: EmailContext): string {
  const [kind, action = ''] = [event.type.slice(0, event.type.indexOf('.')), event.type.slice(event.type.indexOf('.') + 1)];
  const verb = VERBS[action] ?? action.replace(/[-_]/g, ' ');
  const rollout = rolloutLabel(event, ctx);
  let what: string;
  if (kind === 'rollout') what = `Rollout ${rollout ?? ''} ${verb}`;
  else if (kind === 'execution' && event.deviceId) what = `Device ${event.deviceId} ${verb}${rollout ? ` in rollout ${rollout}` : ''}`;
  else what = `${event.type}${rollout ? ` in rollout ${rollout}` : ''}${event.deviceId ? ` for device ${event.deviceId}` : ''}`;
  return oneLine(`[update-orchestrator] ${what}`, 200);
}

function countsLine(counts: unknown): string | null {
  if (!counts || typeof counts !== 'object') return null;
  const entries = Object.entries(counts as Record<string, unknown>).filter(([, n]) => typeof n === 'number' && n > 0);
  return entries.length ? entries.map(([state, n]) => `${state} ${String(n)}`).join(', ') : null;
}

/** The plain-text body. */
export function emailText(event: EventRecord, ctx: EmailContext): string {
  const d = event.data;
  const base = ctx.dashboardUrl ? ctx.dashboardUrl.replace(/\/*$/, '/') : null;
  const rows: [string, string | null][] = [
    ['Event', `${event.type} (#${event.id})`],
    ['Time', event.ts],
    ['Rollout', event.rolloutId ? `${ctx.rolloutName ?? str(d.name) ?? '(no name)'} (${event.rolloutId})` : null],
    ['Device', event.deviceId],
    ['Execution', event.executionId],
    ['State', str(d.from) && str(d.to) ? `${String(d.from)} -> ${String(d.to)}` : null],
    ['Reason', str(d.reason) ?? str(d.statusReason)],
    ['Error', str(d.error)],
    ['Devices', countsLine(d.counts)],
    ['By', event.actor ?? 'system'],
    ['Rollout page', base && event.rolloutId ? `${base}#/rollouts/${encodeURIComponent(event.rolloutId)}` : null],
    ['Device page', base && event.deviceId ? `${base}#/devices/${encodeURIComponent(event.deviceId)}` : null],
  ];
  const width = Math.max(...rows.filter(([, v]) => v !== null).map(([k]) => k.length)) + 2;
  const lines = [emailSubject(event, ctx).replace(/^\[update-orchestrator\] /, '') + '.', ''];
  for (const [key, value] of rows) if (value !== null) lines.push(`${`${key}:`.padEnd(width)}${storableText(value, 2000).replace(/\n/g, `\n${' '.repeat(width)}`)}`);
  const shown = new Set(['name', 'from', 'to', 'reason', 'statusReason', 'error', 'counts']);
  const rest = Object.fromEntries(Object.entries(d).filter(([k]) => !shown.has(k)));
  if (Object.keys(rest).length) lines.push('', 'Details:', storableText(JSON.stringify(rest, null, 2), 4000));
  lines.push('', '-- ', `Sent by update-orchestrator for the subscription "${oneLine(ctx.subscription.name, 100)}" (${ctx.subscription.id}).`);
  return lines.join('\n') + '\n';
}
