// One line of plain text that says what an event means, from its type and data: the event log's
// details column and the short event lists of the overview and device pages. Unknown types fall
// back to their scalar fields, so a new event type still reads as something.
import { fmtBytes } from '../util.js';

const MAX_TEXT = 280;

const str = (v) => (typeof v === 'string' && v ? v : null);
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
const short = (id) => (typeof id === 'string' ? id.slice(0, 8) : '');

/** "location=store-west, version=<2" from a rollout's or policy's device filter. */
export function filterText(filter) {
  if (!filter || typeof filter !== 'object') return 'every device';
  const parts = Object.entries(filter)
    .filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => (k === 'ids' && Array.isArray(v) ? `${plural(v.length, 'listed device')}` : `${k}=${Array.isArray(v) ? v.join('|') : String(v)}`));
  return parts.length ? parts.join(', ') : 'every device';
}

/** "12 devices" of a bulk action's audit event. */
const bulkCount = (d) => (num(d.count) !== null ? plural(d.count, 'device') : null);

function execution(d) {
  const bits = [];
  if (str(d.from) && str(d.to)) bits.push(`${d.from} → ${d.to}`);
  if (num(d.attempt) !== null && d.attempt > 1) bits.push(`attempt ${d.attempt}`);
  if (num(d.bytes)) bits.push(fmtBytes(d.bytes));
  if (str(d.error)) bits.push(d.error);
  if (str(d.note)) bits.push(d.note);
  return bits;
}

function rolloutCreated(d) {
  const spec = d.spec ?? {};
  const bits = [];
  if (str(spec.name)) bits.push(spec.name);
  if (str(spec.strategy)) bits.push(spec.strategy);
  if (Array.isArray(spec.phases) && spec.phases.length > 1) bits.push(plural(spec.phases.length, 'phase'));
  bits.push(filterText(spec.filter));
  if (str(d.rollbackOf)) bits.push(`rolls back ${short(d.rollbackOf)}`);
  return bits;
}

const RULES = {
  'rollout.created': rolloutCreated,
  'rollout.started': (d) => [num(d.devices) !== null ? `${plural(d.devices, 'device')} targeted` : null],
  'rollout.window-opened': (d) => [`window opened${typeof d.timezone === 'string' ? ` in ${d.timezone}` : ''}`, num(d.devices) !== null ? `${plural(d.devices, 'device')} may install` : null],
  'rollout.devices-joined': (d) => [num(d.devices) !== null ? `${plural(d.devices, 'device')} joined` : null],
  'rollout.phase-reached': (d) => [num(d.phase) !== null ? `phase ${d.phase} passed` : null, num(d.soakSeconds) ? `soaks ${d.soakSeconds} s` : null, d.requireApproval === true ? 'awaits approval' : null],
  'rollout.phase-advanced': (d) => [num(d.from) !== null && num(d.to) !== null ? `phase ${d.from} → phase ${d.to}` : null],
  'device.created': (d) => [d.device?.mode, str(d.device?.address), d.device?.version ? `version ${d.device.version}` : null, str(d.device?.location)],
  'device.updated': (d) => [d.changes && typeof d.changes === 'object' ? `changed ${Object.keys(d.changes).join(', ') || 'nothing'}` : null],
  'device.enrolled': (d) => [str(d.enrollment) ? `enrollment ${d.enrollment}` : null],
  'device.offline': (d) => [str(d.lastSeenBefore) ? `no contact since ${new Date(d.lastSeenBefore).toLocaleString()}` : null],
  'device.decommissioned': (d) => [num(d.executionsEnded) !== null ? `every credential revoked; ${plural(d.executionsEnded, 'unfinished execution')} ended` : null],
  'device.token-revoked': (d) => [num(d.count) !== null ? `${plural(d.count, 'token')} revoked` : null],
  'devices.imported': (d) => [str(d.format), num(d.rows) !== null ? `${plural(d.rows, 'row')}: ${d.created ?? 0} created, ${d.updated ?? 0} updated, ${d.skipped ?? 0} skipped` : null],
  'artifact.uploaded': (d) => [`${d.name ?? ''} ${d.version ?? ''}`.trim(), num(d.size) !== null ? fmtBytes(d.size) : null, d.signed ? 'signed' : 'unsigned', str(d.sha256) ? `sha256 ${d.sha256.slice(0, 12)}…` : null, d.deduplicated ? 'same bytes as an earlier upload' : null],
  'artifact.added': (d) => [`${d.name ?? ''} ${d.version ?? ''}`.trim(), str(d.imageRef)],
  'artifact.deleted': (d) => [`${d.name ?? ''} ${d.version ?? ''}`.trim()],
  'token.created': (d) => [str(d.role) ? `role ${d.role}` : null, str(d.name)],
  'token.revoked': (d) => [str(d.id) ? `token ${short(d.id)}` : null],
  'subscription.created': (d) => [str(d.url), Array.isArray(d.events) ? d.events.join(', ') : null, str(d.format)],
  'webhook.received': (d) => [str(d.source), str(d.image), str(d.result), str(d.error)],
  'webhook.rejected': (d) => [str(d.source), str(d.reason), str(d.ip)],
  'mender.deployment-log': (d) => (Array.isArray(d.lines) ? [plural(d.lines.length, 'log line'), d.lines.length ? `last: ${d.lines[d.lines.length - 1]}` : null] : []),
  'mender.status': (d) => [str(d.status), str(d.substate)],
  'hawkbit.feedback': (d) => [str(d.execution), str(d.finished), Array.isArray(d.details) && d.details.length ? d.details.join(' | ') : null],
  'devices.bulk-tag': (d) => [bulkCount(d), d.tags && typeof d.tags === 'object' ? `set ${Object.entries(d.tags).map(([k, v]) => `${k}=${v}`).join(', ')}` : null],
  'devices.bulk-untag': (d) => [bulkCount(d), Array.isArray(d.keys) ? `removed ${d.keys.join(', ')}` : null],
  'devices.bulk-set-location': (d) => [bulkCount(d), d.location === null ? 'location cleared' : str(d.location) ? `location ${d.location}` : null],
  'devices.bulk-set-device-type': (d) => [bulkCount(d), d.deviceType === null ? 'device type cleared' : str(d.deviceType) ? `device type ${d.deviceType}` : null],
  'devices.bulk-decommission': (d) => [bulkCount(d), 'every credential revoked'],
  'group.created': (d) => [str(d.name), str(d.kind), d.kind === 'dynamic' ? filterText(d.filter) : Array.isArray(d.devices) ? plural(d.devices.length, 'device') : null],
  'group.updated': (d) => [str(d.name), d.changes && typeof d.changes === 'object' ? `changed ${Object.keys(d.changes).join(', ') || 'nothing'}` : null],
  'group.deleted': (d) => [str(d.name)],
  'release.created': (d) => [`${d.name ?? ''} ${d.version ?? ''}`.trim(), Array.isArray(d.artifacts) ? plural(d.artifacts.length, 'artifact') : null],
  'release.deleted': (d) => [`${d.name ?? ''} ${d.version ?? ''}`.trim()],
  'enrollment-key.created': (d) => [str(d.name), d.autoAccept ? 'accepts devices at once' : 'devices wait for acceptance'],
};

function fallback(d) {
  const scalars = Object.entries(d).filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v) && v !== '');
  const named = ['error', 'reason', 'name', 'image', 'status'].map((k) => str(d[k])).filter(Boolean);
  if (named.length) return named;
  return scalars.slice(0, 4).map(([k, v]) => `${k}=${v}`);
}

/**
 * What the event says, without the columns a table shows anyway. `withSubjects` adds the device
 * and rollout for lists that have no such columns.
 */
export function describeEvent(e, { withSubjects = false } = {}) {
  const d = e.data && typeof e.data === 'object' ? e.data : {};
  const rule = RULES[e.type] ?? (e.type.startsWith('execution.') ? execution : e.type.startsWith('rollout.') ? (x) => [str(x.reason) ?? str(x.status)] : e.type.startsWith('policy.') ? (x) => [str(x.name), str(x.image), str(x.error)] : fallback);
  const bits = [];
  if (withSubjects && e.deviceId) bits.push(`device ${e.deviceId}`);
  if (withSubjects && e.rolloutId) bits.push(`rollout ${short(e.rolloutId)}`);
  for (const bit of rule(d)) if (bit !== null && bit !== undefined && bit !== '') bits.push(String(bit));
  const text = bits.join(' · ');
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

export function typeClass(type) {
  if (/failed|rejected|error/.test(type)) return 'c-bad';
  if (/succeeded|completed|created|added|uploaded/.test(type)) return 'c-ok';
  if (/paused|cancelled|rolled-back|removed|offline/.test(type)) return 'c-warn';
  return 'c-accent';
}
