// Maintenance windows in device time zones, across DST changes, with cron windows and validation.
import { describe, expect, it } from 'vitest';
import type { ErrorDetail } from './errors.js';
import { localTime, mayStartIn, parseWindow, windowState, zonedToUtc, type MaintenanceWindow } from './window.js';

const daily = (spec: string, extra: Partial<MaintenanceWindow> = {}): MaintenanceWindow => ({ daily: spec, timezone: null, expectedDurationSeconds: 0, ...extra });
const at = (iso: string) => Date.parse(iso);

describe('daily windows per device time zone', () => {
  const w = daily('02:00-04:00');

  it('opens at 02:00 local in New York and in Los Angeles, three hours apart', () => {
    // 2026-01-15 07:30Z is 02:30 in New York (EST, -5) and 23:30 the day before in Los Angeles.
    expect(windowState(w, 'America/New_York', at('2026-01-15T07:30:00Z'))).toEqual({ open: true, closesAt: at('2026-01-15T09:00:00Z'), opensAt: null });
    expect(windowState(w, 'America/Los_Angeles', at('2026-01-15T07:30:00Z'))).toEqual({ open: false, closesAt: null, opensAt: at('2026-01-15T10:00:00Z') });
    expect(windowState(w, 'America/Los_Angeles', at('2026-01-15T10:30:00Z')).open).toBe(true);
    expect(windowState(w, 'America/New_York', at('2026-01-15T10:30:00Z'))).toEqual({ open: false, closesAt: null, opensAt: at('2026-01-16T07:00:00Z') });
  });

  it('is [start, end): open at 02:00, closed at 04:00', () => {
    expect(windowState(w, 'UTC', at('2026-03-01T02:00:00Z')).open).toBe(true);
    expect(windowState(w, 'UTC', at('2026-03-01T03:59:00Z')).open).toBe(true);
    expect(windowState(w, 'UTC', at('2026-03-01T04:00:00Z')).open).toBe(false);
  });

  it('handles the spring-forward night (02:00-03:00 does not exist in New York on 2026-03-08)', () => {
    // 06:59Z is 01:59 EST: closed. 07:00Z is 03:00 EDT: open (02:xx was skipped), closing at 04:00 EDT = 08:00Z.
    expect(windowState(w, 'America/New_York', at('2026-03-08T06:59:00Z')).open).toBe(false);
    expect(windowState(w, 'America/New_York', at('2026-03-08T07:00:00Z'))).toEqual({ open: true, closesAt: at('2026-03-08T08:00:00Z'), opensAt: null });
    // The day after, the window is two real hours again, in EDT (-4): 06:00Z-08:00Z.
    expect(windowState(w, 'America/New_York', at('2026-03-09T06:00:00Z'))).toEqual({ open: true, closesAt: at('2026-03-09T08:00:00Z'), opensAt: null });
  });

  it('handles the fall-back night (01:00-02:00 happens twice in New York on 2026-11-01)', () => {
    const w2 = daily('01:00-03:00');
    // 05:30Z = 01:30 EDT (first pass), 06:30Z = 01:30 EST (second pass): both inside; it closes at 03:00 EST = 08:00Z.
    expect(windowState(w2, 'America/New_York', at('2026-11-01T05:30:00Z'))).toMatchObject({ open: true, closesAt: at('2026-11-01T08:00:00Z') });
    expect(windowState(w2, 'America/New_York', at('2026-11-01T06:30:00Z'))).toMatchObject({ open: true, closesAt: at('2026-11-01T08:00:00Z') });
    expect(windowState(w2, 'America/New_York', at('2026-11-01T08:00:00Z')).open).toBe(false);
  });

  it('crosses midnight', () => {
    const night = daily('22:00-02:00');
    expect(windowState(night, 'Europe/Berlin', at('2026-01-15T22:30:00Z'))).toEqual({ open: true, closesAt: at('2026-01-16T01:00:00Z'), opensAt: null });
    expect(windowState(night, 'Europe/Berlin', at('2026-01-16T00:30:00Z'))).toEqual({ open: true, closesAt: at('2026-01-16T01:00:00Z'), opensAt: null });
    expect(windowState(night, 'Europe/Berlin', at('2026-01-16T12:00:00Z'))).toEqual({ open: false, closesAt: null, opensAt: at('2026-01-16T21:00:00Z') });
  });

  it('does not start a delivery that cannot finish before the window closes', () => {
    const w3 = daily('02:00-04:00', { expectedDurationSeconds: 1800 });
    expect(mayStartIn(w3, 'UTC', at('2026-01-15T03:29:00Z'))).toBe(true);
    expect(mayStartIn(w3, 'UTC', at('2026-01-15T03:31:00Z'))).toBe(false);
    expect(mayStartIn(w3, 'UTC', at('2026-01-15T05:00:00Z'))).toBe(false);
  });
});

describe('cron windows', () => {
  it('are open for durationMinutes after each firing, in the zone', () => {
    const w: MaintenanceWindow = { cron: '0 2 * * 6', durationMinutes: 120, timezone: null, expectedDurationSeconds: 0 };
    // Saturdays 02:00-04:00 in Tokyo (+9): 2026-01-17 is a Saturday, 02:00 JST = 2026-01-16T17:00Z.
    expect(windowState(w, 'Asia/Tokyo', at('2026-01-16T17:30:00Z'))).toEqual({ open: true, closesAt: at('2026-01-16T19:00:00Z'), opensAt: null });
    expect(windowState(w, 'Asia/Tokyo', at('2026-01-16T19:00:00Z'))).toEqual({ open: false, closesAt: null, opensAt: at('2026-01-23T17:00:00Z') });
  });
});

describe('zone arithmetic', () => {
  it('maps wall time to instants and back', () => {
    expect(zonedToUtc(2026, 7, 1, 2 * 60, 'America/Los_Angeles')).toBe(at('2026-07-01T09:00:00Z'));
    expect(localTime(at('2026-07-01T09:00:00Z'), 'America/Los_Angeles')).toEqual({ year: 2026, month: 7, day: 1, hour: 2, minute: 0 });
    expect(localTime(at('2026-12-31T23:30:00Z'), 'Asia/Kolkata')).toEqual({ year: 2027, month: 1, day: 1, hour: 5, minute: 0 });
  });
});

describe('parseWindow', () => {
  const parse = (raw: unknown) => {
    const errors: ErrorDetail[] = [];
    const window = parseWindow(raw, errors, at('2026-01-15T00:00:00Z'));
    return { window, paths: errors.map((e) => e.path), messages: errors.map((e) => e.message).join('; ') };
  };
  it('accepts daily, a string shorthand and cron windows', () => {
    expect(parse({ daily: '02:00-04:00', timezone: 'America/New_York' }).window).toEqual({ daily: '02:00-04:00', timezone: 'America/New_York', expectedDurationSeconds: 0 });
    expect(parse('23:00-01:00').window).toMatchObject({ daily: '23:00-01:00', timezone: null });
    expect(parse({ cron: '0 3 * * *', durationMinutes: 60, expectedDurationSeconds: 600 }).window).toMatchObject({ cron: '0 3 * * *', durationMinutes: 60 });
  });
  it('refuses windows that never open, unknown zones and malformed times, naming the field', () => {
    expect(parse({ daily: '02:00-02:00' })).toMatchObject({ window: null, paths: ['window.daily'] });
    expect(parse({ daily: '2am-4am' }).paths).toEqual(['window.daily']);
    expect(parse({ daily: '02:00-04:00', timezone: 'Moon/Base' }).paths).toEqual(['window.timezone']);
    expect(parse({ cron: '0 0 30 2 *', durationMinutes: 10 }).messages).toMatch(/never/);
    expect(parse({ cron: 'not cron', durationMinutes: 10 }).paths).toEqual(['window.cron']);
    expect(parse({ cron: '0 3 * * *' }).paths).toEqual(['window.durationMinutes']);
    expect(parse({ daily: '02:00-02:30', expectedDurationSeconds: 3600 }).paths).toEqual(['window.expectedDurationSeconds']);
    expect(parse({ daily: '02:00-04:00', cron: '0 2 * * *' }).paths).toEqual(['window']);
  });
});
