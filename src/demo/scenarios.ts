// The six scenarios of seed 002, as data plus the checks that say whether each reached its
// expected outcome. Filters keep the firmware line >= 2.3.0 apart from the old 2.2 terminals,
// so the last scenario (upgrade what runs below 2.3.0) still has its devices after the others.
import { localTime, matchesDeviceFilter, parseDeviceFilter, type Device, type DeviceFilterInput } from '../core/index.js';
import type { DemoClock } from './demo-clock.js';
import type { PosTerminal } from './pos-fleet.js';

/** An execution as GET /api/v1/rollouts/:id/devices lists it (the fields the checks read). */
export interface DemoExecution {
  deviceId: string;
  state: string;
  phase: number;
  startedAt: string | null;
}

/** What a scenario's checks get: the rollout's executions and events, and the demo's own model. */
export interface Outcome {
  status: string;
  executions: DemoExecution[];
  /** rollout.* events of the rollout, oldest first. */
  events: { id: number; type: string; ts: string; data: Record<string, unknown> }[];
  /** Version each targeted device runs now, read from the device itself. */
  deviceVersion(id: string): string | null;
  /** Epoch ms (demo clock) when the scenario connected devices, if it did. */
  connectedAt: number | null;
}

/** The demo's model of the fleet: the registry as the demo believes it is. */
export interface FleetModel {
  terminals: Map<string, PosTerminal>;
  /** Status the registry should have now. */
  status(id: string): string;
  version(id: string): string;
}

/** What a scenario may do before and after its rollout is created. */
export interface ScenarioHooks {
  clock: DemoClock;
  /** Connects devices (their agents start polling); answers when (demo clock). */
  connect(ids: string[]): number;
  /** Ids of terminals that are registered as offline and not connected yet. */
  offlineIds(): string[];
}

export interface Scenario {
  key: string;
  title: string;
  /** One or two sentences: what an operator wants here. */
  story: string;
  artifact: { name: string; version: string };
  rollout: { strategy: string; filter: DeviceFilterInput; phases?: unknown[]; errorThreshold?: unknown; window?: unknown; maxConcurrency?: number };
  /** Before the rollout is created (e.g. move the clock). */
  before?(hooks: ScenarioHooks): void;
  /** After it is created (e.g. devices connect). */
  after?(hooks: ScenarioHooks): number | null;
  /** Extra checks; each string is a way the outcome differs from the expected one. */
  check?(outcome: Outcome, model: FleetModel): string[];
  /** Extra rows for the outcome table. */
  report?(outcome: Outcome, model: FleetModel): Record<string, string | number>[];
}

const NEW_LINE = '>=2.3.0';
const FIRMWARE = 'pos-firmware';

/** Devices the model says a filter targets (mirrors the server's resolution of the filter). */
export function expectedTargets(model: FleetModel, filter: DeviceFilterInput): string[] {
  const parsed = parseDeviceFilter(filter);
  const ids: string[] = [];
  for (const [id, t] of model.terminals) {
    const device = { ...t.device, status: model.status(id), version: model.version(id), tenant: 'DEFAULT', deviceType: t.device.deviceType ?? null, decommissionedAt: null, createdAt: '', updatedAt: '' } as Device;
    if (matchesDeviceFilter(device, parsed)) ids.push(id);
  }
  return ids.sort();
}

/** The next instant after `now` at which it is `hour:minute` in `zone`. */
export function nextLocal(now: number, zone: string, hour: number, minute: number): number {
  let t = Math.ceil(now / 60_000) * 60_000;
  for (let i = 0; i < 2 * 24 * 60; i++, t += 60_000) {
    const local = localTime(t, zone);
    if (local.hour === hour && local.minute === minute) return t;
  }
  throw new Error(`no ${hour}:${minute} in ${zone} within two days`);
}

const hhmm = (ms: number, zone: string) => {
  const l = localTime(ms, zone);
  return `${String(l.hour).padStart(2, '0')}:${String(l.minute).padStart(2, '0')}`;
};

export const SCENARIOS: Scenario[] = [
  {
    key: 'security-patch',
    title: '1. Immediate security patch to online terminals',
    story: 'A critical fix for the 2.3/2.4 firmware line goes to every terminal that is online now, at once; offline ones are not waited for.',
    artifact: { name: FIRMWARE, version: '2.4.1' },
    rollout: { strategy: 'immediate', filter: { status: 'online', version: NEW_LINE }, maxConcurrency: 100 },
  },
  {
    key: 'maintenance-window',
    title: '2. Firmware in the 02:00-04:00 store-local maintenance window',
    story: 'Firmware 2.5.0 installs only between 02:00 and 04:00 in each store\'s own time zone. The demo clock jumps to 01:45 in New York and runs 3600x faster, so the night passes in seconds.',
    artifact: { name: FIRMWARE, version: '2.5.0' },
    rollout: { strategy: 'scheduled', filter: { status: 'online', version: NEW_LINE }, window: { daily: '02:00-04:00' } },
    before({ clock }) {
      clock.jumpTo(nextLocal(clock.now(), 'America/New_York', 1, 45));
      clock.setRate(3600);
    },
    check(outcome, model) {
      const problems: string[] = [];
      for (const e of outcome.executions) {
        const zone = model.terminals.get(e.deviceId)!.device.timezone;
        if (!e.startedAt) continue;
        const local = localTime(Date.parse(e.startedAt), zone);
        if (local.hour < 2 || local.hour >= 4) problems.push(`${e.deviceId} started at ${hhmm(Date.parse(e.startedAt), zone)} local time (${zone}), outside 02:00-04:00`);
      }
      return problems.slice(0, 5);
    },
    report(outcome, model) {
      const byZone = new Map<string, number[]>();
      for (const e of outcome.executions) {
        if (!e.startedAt) continue;
        const zone = model.terminals.get(e.deviceId)!.device.timezone;
        byZone.set(zone, [...(byZone.get(zone) ?? []), Date.parse(e.startedAt)]);
      }
      return [...byZone.entries()].map(([zone, starts]) => ({
        timezone: zone,
        devices: starts.length,
        'first start (local)': hhmm(Math.min(...starts), zone),
        'last start (local)': hhmm(Math.max(...starts), zone),
        'first start (UTC)': new Date(Math.min(...starts)).toISOString().slice(11, 16),
      }));
    },
  },
  {
    key: 'progressive',
    title: '3. Progressive rollout: canary 10% -> 50% -> 100% with thresholds',
    story: 'Firmware 2.5.1 goes to a 10% canary first; each phase opens only when 95% of the previous one succeeded, and the rollout pauses by itself if more than 5% of a phase fails.',
    artifact: { name: FIRMWARE, version: '2.5.1' },
    rollout: {
      strategy: 'progressive',
      filter: { status: 'online', version: NEW_LINE },
      phases: [{ percent: 10, successThreshold: 95 }, { percent: 50, successThreshold: 95 }, { percent: 100, successThreshold: 95 }],
      errorThreshold: { percent: 5, action: 'pause' },
    },
    check(outcome) {
      const problems: string[] = [];
      const advances = outcome.events.filter((e) => e.type === 'rollout.phase-advanced');
      if (advances.length !== 2) problems.push(`expected 2 phase advances, saw ${advances.length}`);
      advances.forEach((advance, i) => {
        const opened = Date.parse(advance.ts);
        const early = outcome.executions.filter((e) => e.phase === i + 1 && e.startedAt && Date.parse(e.startedAt) < opened);
        if (early.length) problems.push(`${early.length} device(s) of phase ${i + 2} started before that phase opened`);
      });
      for (let p = 0; p < 3; p++) if (!outcome.executions.some((e) => e.phase === p)) problems.push(`phase ${p + 1} has no devices`);
      return problems;
    },
    report(outcome) {
      const advances = outcome.events.filter((e) => e.type === 'rollout.phase-advanced');
      return [0, 1, 2].map((p) => ({
        phase: `${p + 1} (${['10%', '50%', '100%'][p]})`,
        devices: outcome.executions.filter((e) => e.phase === p).length,
        succeeded: outcome.executions.filter((e) => e.phase === p && e.state === 'succeeded').length,
        opened: p === 0 ? 'at start' : (advances[p - 1]?.ts.slice(11, 19) ?? 'never'),
      }));
    },
  },
  {
    key: 'on-connect',
    title: '4. On-connect delivery for intermittently connected terminals',
    story: 'Terminals that are offline get firmware 2.5.1 when they next connect. The rollout is created while they are away; then they come back, and each is updated on its first contact.',
    artifact: { name: FIRMWARE, version: '2.5.1' },
    rollout: { strategy: 'on-connect', filter: { status: 'offline', version: NEW_LINE } },
    after(hooks) {
      return hooks.connect(hooks.offlineIds());
    },
    check(outcome) {
      if (outcome.connectedAt === null) return ['the offline terminals never connected'];
      const early = outcome.executions.filter((e) => e.startedAt && Date.parse(e.startedAt) < outcome.connectedAt!);
      return early.length ? [`${early.length} device(s) started before they connected`] : [];
    },
  },
  {
    key: 'region',
    title: '5. Region-targeted update (west)',
    story: 'A payment-terminal update 2.5.2 for the west region only; every other region keeps what it runs.',
    artifact: { name: FIRMWARE, version: '2.5.2' },
    rollout: { strategy: 'immediate', filter: { status: 'online', version: NEW_LINE, tag: 'region:west' } },
    check(outcome, model) {
      const outside = outcome.executions.filter((e) => model.terminals.get(e.deviceId)?.device.tags.region !== 'west');
      return outside.length ? [`${outside.length} device(s) outside the west region were targeted`] : [];
    },
  },
  {
    key: 'below-version',
    title: '6. Upgrade every terminal still below 2.3.0',
    story: 'The old 2.2 terminals (including those that came back online in scenario 4) jump straight to 2.5.2.',
    artifact: { name: FIRMWARE, version: '2.5.2' },
    rollout: { strategy: 'immediate', filter: { status: 'online', version: '<2.3.0' } },
  },
];
