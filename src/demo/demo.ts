// The POS demo (seed 002): a server on a temporary database, the POS fleet as simulated pull
// devices running the real agent code, and the six scenarios one after another, each printed as
// its plan and its outcome. The caller decides whether to keep the server up afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../app.js';
import { loadConfig } from '../config.js';
import { DemoApi } from './demo-api.js';
import { DemoClock } from './demo-clock.js';
import { posFleet, type PosTerminal } from './pos-fleet.js';
import { expectedTargets, SCENARIOS, type DemoExecution, type FleetModel, type Outcome, type Scenario } from './scenarios.js';
import { countBy, table } from './tables.js';
import { VirtualFleet } from './virtual-fleet.js';

export interface DemoOptions {
  /** Terminals in the fleet. */
  devices: number;
  /** Port of the server (0: any free one). */
  port: number;
  /** Where the readable output goes. */
  out: (text: string) => void;
  /** Poll interval of the simulated terminals, seconds. */
  pollSeconds?: number;
  /** Longest a scenario may take before it counts as not reaching its outcome, ms. */
  scenarioTimeoutMs?: number;
}

/** How one scenario ended. */
export interface ScenarioResult {
  key: string;
  ok: boolean;
  status: string;
  targeted: number;
  succeeded: number;
  seconds: number;
  problems: string[];
}

/** A demo that ran: its results, the server still up, and how to stop it. */
export interface DemoRun {
  url: string;
  token: string;
  results: ScenarioResult[];
  ok: boolean;
  close(): Promise<void>;
}

const FINISHED = new Set(['completed', 'failed', 'cancelled', 'rolled-back', 'paused']);

class Model implements FleetModel {
  readonly terminals = new Map<string, PosTerminal>();
  readonly versions = new Map<string, string>();
  readonly online = new Set<string>();
  constructor(fleet: PosTerminal[]) {
    for (const t of fleet) {
      this.terminals.set(t.device.id, t);
      this.versions.set(t.device.id, t.device.version!);
      if (t.connectivity === 'online') this.online.add(t.device.id);
    }
  }
  status(id: string): string {
    return this.online.has(id) ? 'online' : this.terminals.get(id)!.connectivity;
  }
  version(id: string): string {
    return this.versions.get(id)!;
  }
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function runDemo(o: DemoOptions): Promise<DemoRun> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-demo-'));
  const clock = new DemoClock();
  // Offline detection is effectively off: the fast clock would otherwise declare the fleet lost.
  const config = loadConfig({ dataDir, host: '127.0.0.1', port: o.port, logLevel: 'silent', pollIntervalSeconds: o.pollSeconds ?? 1, offlineAfterMissedPolls: 1_000_000 }, { ...process.env, ORCHESTRATOR_DATABASE_URL: '' });
  let app: App | null = null;
  let fleet: VirtualFleet | null = null;
  const close = async () => {
    await fleet?.stop();
    await app?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    app = await createApp(config, { clock, logger: false });
    const url = await app.listen();
    const { token } = await app.store.tokens.create({ kind: 'operator', role: 'admin', name: 'demo' }, clock.now());
    const api = new DemoApi(url, token);
    const terminals = posFleet(o.devices);
    const model = new Model(terminals);
    o.out(`update-orchestrator POS demo: ${terminals.length} terminals, server ${url} (temporary SQLite database)\n`);

    await api.call('POST', '/api/v1/devices/import?format=ndjson', terminals.map((t) => JSON.stringify(t.device)).join('\n'), 'application/x-ndjson');
    const tokens = new Map<string, string>();
    for (let i = 0; i < terminals.length; i += 16) {
      await Promise.all(terminals.slice(i, i + 16).map(async (t) => tokens.set(t.device.id, (await api.call<{ token: string }>('POST', `/api/v1/devices/${encodeURIComponent(t.device.id)}/token`)).token)));
    }
    fleet = new VirtualFleet({ server: url, pollSeconds: o.pollSeconds ?? 1 });
    await fleet.add(terminals.map((t) => ({ id: t.device.id, token: tokens.get(t.device.id)!, version: t.device.version! })));
    fleet.connect([...model.online]);
    o.out(table('The fleet', countBy(terminals, (t) => `${t.device.tags.region} / ${t.connectivity}`, 'region / connectivity')) + '\n');
    o.out(table('Firmware before the demo', countBy(terminals, (t) => t.device.version!, 'version')) + '\n');

    const artifacts = new Map<string, string>();
    const results: ScenarioResult[] = [];
    for (const scenario of SCENARIOS) {
      const key = `${scenario.artifact.name}@${scenario.artifact.version}`;
      if (!artifacts.has(key)) artifacts.set(key, await api.uploadFirmware(scenario.artifact.name, scenario.artifact.version));
      results.push(await runScenario(scenario, artifacts.get(key)!, { api, clock, fleet, model, out: o.out, timeoutMs: o.scenarioTimeoutMs ?? 60_000 }));
    }
    o.out(table('Summary', results.map((r) => ({ scenario: r.key, outcome: r.ok ? 'as expected' : 'NOT as expected', status: r.status, targeted: r.targeted, succeeded: r.succeeded, seconds: r.seconds }))) + '\n');
    return { url, token, results, ok: results.every((r) => r.ok), close };
  } catch (error) {
    await close();
    throw error;
  }
}

interface RunContext {
  api: DemoApi;
  clock: DemoClock;
  fleet: VirtualFleet;
  model: Model;
  out: (text: string) => void;
  timeoutMs: number;
}

async function runScenario(s: Scenario, artifactId: string, c: RunContext): Promise<ScenarioResult> {
  const started = Date.now();
  const { api, clock, fleet, model } = c;
  const hooks = {
    clock,
    connect: (ids: string[]) => {
      fleet.connect(ids);
      for (const id of ids) model.online.add(id);
      return clock.now();
    },
    offlineIds: () => [...model.terminals.values()].filter((t) => t.connectivity === 'offline' && !fleet.connected(t.device.id)).map((t) => t.device.id),
  };
  c.out(`\n=== ${s.title}\n${s.story}\n`);
  s.before?.(hooks);
  const expected = expectedTargets(model, s.rollout.filter);
  const targets = expected.map((id) => model.terminals.get(id)!);
  c.out(`Plan: ${s.rollout.strategy} rollout of ${s.artifact.name} ${s.artifact.version}, filter ${JSON.stringify(s.rollout.filter)}${s.rollout.window ? `, window ${JSON.stringify(s.rollout.window)}` : ''}${s.rollout.phases ? `, phases ${JSON.stringify(s.rollout.phases)}` : ''}: ${expected.length} terminals`);
  if (clock.rate !== 1) c.out(`Demo clock: ${new Date(clock.now()).toISOString()} running ${clock.rate}x`);
  c.out(table('Targets by region and time zone', countBy(targets, (t) => `${t.device.tags.region} ${t.device.timezone}`, 'region timezone')));
  c.out(table('Targets by current firmware', countBy(targets, (t) => model.version(t.device.id), 'version')) + '\n');

  const rollout = await api.call<{ id: string }>('POST', '/api/v1/rollouts', { name: `demo ${s.key}`, artifactId, ...s.rollout });
  const connectedAt = s.after?.(hooks) ?? null;
  fleet.wakeAll();
  let status = 'unknown';
  const problems: string[] = [];
  try {
    status = (await waitFor(() => api.call<{ status: string }>('GET', `/api/v1/rollouts/${rollout.id}`), (r) => FINISHED.has(r.status), c.timeoutMs, `rollout ${s.key} to finish`)).status;
  } catch (error) {
    problems.push((error as Error).message);
  } finally {
    if (clock.rate !== 1) clock.setRate(1);
  }
  const executions = await api.all<DemoExecution>(`/api/v1/rollouts/${rollout.id}/devices`);
  const events = (await api.call<{ items: Outcome['events'] }>('GET', `/api/v1/events?rolloutId=${encodeURIComponent(rollout.id)}&type=rollout.&afterId=0&limit=1000`)).items;
  // The devices' own state: their agents report success after installing; let the last reports land.
  await waitFor(async () => fleet.idle(expected), (idle) => idle, 10_000, 'the devices to finish reporting').catch(() => {});
  const outcome: Outcome = { status, executions, events, deviceVersion: (id) => fleet.versionOf(id), connectedAt };

  if (status !== 'completed') problems.push(`the rollout ended '${status}', expected 'completed'`);
  const got = executions.map((e) => e.deviceId).sort();
  if (got.join() !== expected.join()) problems.push(`targeted ${got.length} devices, expected ${expected.length} (${expected.filter((id) => !got.includes(id)).slice(0, 3).join(', ')} missing; ${got.filter((id) => !expected.includes(id)).slice(0, 3).join(', ')} extra)`);
  const notSucceeded = executions.filter((e) => e.state !== 'succeeded');
  if (notSucceeded.length) problems.push(`${notSucceeded.length} executions did not succeed (e.g. ${notSucceeded[0]!.deviceId}: ${notSucceeded[0]!.state})`);
  const stale = expected.filter((id) => fleet.versionOf(id) !== s.artifact.version);
  if (stale.length) problems.push(`${stale.length} devices do not run ${s.artifact.version} (e.g. ${stale[0]} runs ${fleet.versionOf(stale[0]!)})`);
  problems.push(...(s.check?.(outcome, model) ?? []));
  for (const e of executions) if (e.state === 'succeeded') model.versions.set(e.deviceId, s.artifact.version);

  const succeeded = executions.filter((e) => e.state === 'succeeded').length;
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  const rows = [{ status, targeted: executions.length, succeeded, failed: executions.filter((e) => e.state === 'failed').length, seconds }];
  c.out(table('Outcome', rows));
  const extra = s.report?.(outcome, model);
  if (extra?.length) c.out(table('Details', extra));
  c.out(problems.length ? `NOT as expected:\n${problems.map((p) => `  - ${p}`).join('\n')}` : 'As expected.');
  return { key: s.key, ok: problems.length === 0, status, targeted: executions.length, succeeded, seconds, problems };
}
