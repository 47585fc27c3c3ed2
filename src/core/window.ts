// Maintenance windows: daily HH:MM-HH:MM or cron + duration, evaluated in a time zone (the
// device's own unless the rollout fixes one). Zone math uses Intl; cron uses croner.
import { Cron } from 'croner';
import type { ErrorDetail } from './errors.js';
import { isValidTimeZone } from './timezone.js';

export interface MaintenanceWindow {
  /** "HH:MM-HH:MM" local time; may cross midnight ("22:00-02:00"). */
  daily?: string;
  /** A cron expression (5 or 6 fields) for when the window opens... */
  cron?: string;
  /** ...and how long it stays open. */
  durationMinutes?: number;
  /** A fixed IANA zone for every device, or null for each device's own zone. */
  timezone: string | null;
  /** A delivery is started only if this many seconds remain before the window closes (0: any). */
  expectedDurationSeconds: number;
}

export interface WindowState {
  open: boolean;
  /** Epoch ms the current opening ends (open), else null. */
  closesAt: number | null;
  /** Epoch ms the next opening starts (closed), else null. */
  opensAt: number | null;
}

const DAILY = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$/;
const formatters = new Map<string, Intl.DateTimeFormat>();
const crons = new Map<string, Cron>();

interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/** Wall-clock fields of an instant in a zone. */
export function localTime(ms: number, zone: string): LocalTime {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute! };
}

/** Offset of `zone` from UTC at instant `ms`, in ms (New York in winter: -5 h). */
function offsetAt(ms: number, zone: string): number {
  const t = localTime(ms, zone);
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute);
  return asUtc - Math.floor(ms / 60_000) * 60_000;
}

/** The instant a local wall time happens in `zone` (a time skipped by DST maps past the gap). */
export function zonedToUtc(year: number, month: number, day: number, minutesOfDay: number, zone: string): number {
  const guess = Date.UTC(year, month - 1, day, 0, minutesOfDay);
  const first = guess - offsetAt(guess, zone);
  const second = guess - offsetAt(first, zone);
  return second;
}

function dayAfter(t: { year: number; month: number; day: number }, days: number): { year: number; month: number; day: number } {
  const d = new Date(Date.UTC(t.year, t.month - 1, t.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

function dailyBounds(spec: string): [number, number] {
  const m = DAILY.exec(spec)!;
  return [Number(m[1]) * 60 + Number(m[2]), Number(m[3]) * 60 + Number(m[4])];
}

function cronFor(pattern: string, zone: string): Cron {
  const key = `${zone} ${pattern}`;
  let cron = crons.get(key);
  if (!cron) {
    cron = new Cron(pattern, { timezone: zone, paused: true });
    if (crons.size < 5_000) crons.set(key, cron);
  }
  return cron;
}

/** Whether the window is open at `now` in `zone`, and when it closes or next opens. */
export function windowState(window: MaintenanceWindow, zone: string, now: number): WindowState {
  if (window.cron) {
    const cron = cronFor(window.cron, zone);
    const duration = (window.durationMinutes ?? 0) * 60_000;
    const start = cron.nextRun(new Date(now - duration))?.getTime();
    if (start !== undefined && start <= now) return { open: true, closesAt: start + duration, opensAt: null };
    return { open: false, closesAt: null, opensAt: cron.nextRun(new Date(now))?.getTime() ?? null };
  }
  const [start, end] = dailyBounds(window.daily!);
  const local = localTime(now, zone);
  const m = local.hour * 60 + local.minute;
  const today = local;
  const at = (d: { year: number; month: number; day: number }, minutes: number) => zonedToUtc(d.year, d.month, d.day, minutes, zone);
  if (start < end) {
    if (m >= start && m < end) return { open: true, closesAt: at(today, end), opensAt: null };
    return { open: false, closesAt: null, opensAt: m < start ? at(today, start) : at(dayAfter(today, 1), start) };
  }
  if (m >= start) return { open: true, closesAt: at(dayAfter(today, 1), end), opensAt: null };
  if (m < end) return { open: true, closesAt: at(today, end), opensAt: null };
  return { open: false, closesAt: null, opensAt: at(today, start) };
}

/** True when a delivery may start now: the window is open and enough of it remains. */
export function mayStartIn(window: MaintenanceWindow, zone: string, now: number): boolean {
  const state = windowState(window, zone, now);
  return state.open && (state.closesAt ?? Infinity) - now >= window.expectedDurationSeconds * 1000;
}

/** When a delivery may next start in `zone` (now when it may start now; null when never). */
export function nextStart(window: MaintenanceWindow, zone: string, now: number): number | null {
  if (mayStartIn(window, zone, now)) return now;
  const state = windowState(window, zone, now);
  if (!state.open) return state.opensAt;
  // Open, but too little of it is left for the expected duration: the next opening.
  return state.closesAt === null ? null : windowState(window, zone, state.closesAt).opensAt;
}

/** Parses `window` from a request, pushing problems (naming the field) onto `errors`. */
export function parseWindow(raw: unknown, errors: ErrorDetail[], now: number): MaintenanceWindow | null {
  if (typeof raw === 'string') raw = { daily: raw };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    errors.push({ path: 'window', message: 'must be {"daily": "02:00-04:00"} or {"cron": "0 2 * * *", "durationMinutes": 120}, optionally with "timezone" and "expectedDurationSeconds"' });
    return null;
  }
  const input = raw as Record<string, unknown>;
  const before = errors.length;
  for (const key of Object.keys(input)) {
    if (!['daily', 'cron', 'durationMinutes', 'timezone', 'expectedDurationSeconds'].includes(key)) errors.push({ path: `window.${key}`, message: 'is not a window field' });
  }
  const window: MaintenanceWindow = { timezone: null, expectedDurationSeconds: 0 };
  if (input.timezone !== undefined && input.timezone !== null) {
    if (typeof input.timezone !== 'string' || !isValidTimeZone(input.timezone)) errors.push({ path: 'window.timezone', message: `${JSON.stringify(input.timezone)} is not an IANA time zone (e.g. America/New_York); leave it out to use each device's own zone` });
    else window.timezone = input.timezone;
  }
  const expected = input.expectedDurationSeconds;
  if (expected !== undefined && (typeof expected !== 'number' || !Number.isInteger(expected) || expected < 0 || expected > 86400)) {
    errors.push({ path: 'window.expectedDurationSeconds', message: 'must be an integer number of seconds from 0 to 86400' });
  } else window.expectedDurationSeconds = (expected as number | undefined) ?? 0;
  let lengthMinutes = 0;
  if ((input.daily === undefined) === (input.cron === undefined)) {
    errors.push({ path: 'window', message: 'needs exactly one of daily ("02:00-04:00") or cron ("0 2 * * *" with durationMinutes)' });
  } else if (input.daily !== undefined) {
    if (typeof input.daily !== 'string' || !DAILY.test(input.daily)) errors.push({ path: 'window.daily', message: `must be HH:MM-HH:MM in 24-hour time, like 02:00-04:00 (got ${JSON.stringify(input.daily)})` });
    else {
      const [start, end] = dailyBounds(input.daily);
      if (start === end) errors.push({ path: 'window.daily', message: 'opens and closes at the same time, so it never opens' });
      window.daily = input.daily;
      lengthMinutes = (end - start + 1440) % 1440;
    }
    if (input.durationMinutes !== undefined) errors.push({ path: 'window.durationMinutes', message: 'is only for cron windows' });
  } else {
    const duration = input.durationMinutes;
    if (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0 || duration > 7 * 1440) errors.push({ path: 'window.durationMinutes', message: 'is required with cron: minutes the window stays open, 1 to 10080' });
    else window.durationMinutes = lengthMinutes = duration;
    if (typeof input.cron !== 'string' || input.cron.length > 200) errors.push({ path: 'window.cron', message: 'must be a cron expression such as "0 2 * * *"' });
    else {
      try {
        const next = new Cron(input.cron, { timezone: window.timezone ?? 'UTC', paused: true }).nextRun(new Date(now));
        if (!next) errors.push({ path: 'window.cron', message: 'never fires after now, so the window never opens' });
        else window.cron = input.cron;
      } catch (error) {
        errors.push({ path: 'window.cron', message: `is not a valid cron expression: ${(error as Error).message}` });
      }
    }
  }
  if (lengthMinutes > 0 && window.expectedDurationSeconds > lengthMinutes * 60) {
    errors.push({ path: 'window.expectedDurationSeconds', message: `is longer than the window (${lengthMinutes} minutes), so no delivery could ever start` });
  }
  return errors.length > before ? null : window;
}
