// One chaos run: N `orchestrator serve` processes on one database behind a load balancer, a fleet
// of push devices (one counting receiver) and simulated pull devices (the real agent code), one
// rollout over all of them, and servers SIGKILLed and restarted at random moments until it ends.
// Answers what the devices and the database say afterwards; the caller asserts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isTerminal, type DeviceInput, type ExecutionState } from '../core/index.js';
import { VirtualFleet } from '../demo/virtual-fleet.js';
import { seededRandom } from '../sim/index.js';
import { openStore, type Store } from '../store/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { startInstallCounter } from './install-counter.js';
import { startLoadBalancer } from './load-balancer.js';
import { spawnServer, type ServerProcess } from './server-process.js';

export interface ChaosOptions {
  dialect: 'postgres' | 'sqlite';
  servers: number;
  pushDevices: number;
  pullDevices: number;
  /** Seed of the kill schedule (printed, so a failing run can be repeated). */
  seed: number;
  /** Most kills; the run stops killing once the rollout is done. */
  maxKills: number;
  /** Longest the rollout may take, ms. */
  timeoutMs: number;
  log: (line: string) => void;
}

export interface ChaosReport {
  kills: number;
  seconds: number;
  /** Device ids whose device side installed the artifact a number of times other than 1. */
  notOnce: { deviceId: string; installs: number }[];
  /** Push devices that received two deliveries at the same moment. */
  overlaps: string[];
  /** Executions per state at the end. */
  states: Partial<Record<ExecutionState, number>>;
  nonTerminal: number;
  /** Devices whose number of terminal execution events is not 1. */
  terminalEventsNotOne: { deviceId: string; n: number }[];
  rolloutStatus: string;
  /** Delivery attempts the push devices saw (repeats show re-deliveries after kills). */
  pushAttempts: number;
}

const TERMINAL_EVENTS = ['execution.succeeded', 'execution.failed', 'execution.cancelled', 'execution.skipped', 'execution.rolled-back'];

const device = (id: string, over: Partial<DeviceInput>): DeviceInput => ({ id, name: id, address: null, mode: 'pull', status: 'online', lastSeen: null, version: '1.0.0', location: null, timezone: 'UTC', tags: {}, metadata: {}, ...over });

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const random = seededRandom(o.seed);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `uo-chaos-${o.dialect}-`));
  let pgdb: TestDatabase | null = null;
  if (o.dialect === 'postgres') pgdb = await createTestDatabase('uo_chaos');
  const store: Store = await openStore(pgdb ? { url: pgdb.url, poolSize: 4 } : { sqliteFile: path.join(dataDir, 'orchestrator.db') });
  const counter = await startInstallCounter({ holdMs: 10 });
  const lb = await startLoadBalancer();
  const servers: (ServerProcess | null)[] = Array.from({ length: o.servers }, () => null);
  let fleet: VirtualFleet | null = null;
  const env = { ORCHESTRATOR_CONCURRENCY: '48', ORCHESTRATOR_POLL_INTERVAL: '2', ORCHESTRATOR_ENGINE_LEASE_MS: '8000' };
  const start = async (i: number) => {
    servers[i] = await spawnServer({ dataDir, databaseUrl: pgdb?.url, env });
    lb.setBackends(servers.filter((s): s is ServerProcess => s !== null).map((s) => s.url));
  };
  const started = Date.now();
  try {
    // The fleet: push devices answered by the counting receiver, pull devices with their own tokens.
    const pushIds = Array.from({ length: o.pushDevices }, (_, i) => `push-${String(i).padStart(5, '0')}`);
    const pullIds = Array.from({ length: o.pullDevices }, (_, i) => `pull-${String(i).padStart(5, '0')}`);
    const devices = [...pushIds.map((id) => device(id, { mode: 'http', address: counter.addressOf(id) })), ...pullIds.map((id) => device(id, {}))];
    for (let i = 0; i < devices.length; i += 2000) await store.devices.upsertMany(devices.slice(i, i + 2000), Date.now());
    const tokens: string[] = [];
    for (let i = 0; i < pullIds.length; i += 50) {
      tokens.push(...(await Promise.all(pullIds.slice(i, i + 50).map(async (id) => (await store.tokens.create({ kind: 'device', deviceId: id, name: `device-${id}` }, Date.now())).token))));
    }
    const { token } = await store.tokens.create({ kind: 'operator', role: 'admin', name: 'chaos' }, Date.now());
    if (o.dialect === 'sqlite') await store.close();

    for (let i = 0; i < o.servers; i++) await start(i);
    o.log(`chaos(${o.dialect}): ${o.servers} server(s), ${o.pushDevices} push + ${o.pullDevices} pull devices, seed ${o.seed} (CHAOS_SEED=${o.seed} repeats the kill schedule)`);
    const api = async (method: string, urlPath: string, body: Uint8Array<ArrayBuffer> | string | undefined, contentType: string) => {
      const response = await fetch(lb.url + urlPath, { method, headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const bytes = new Uint8Array(16 * 1024).fill(7);
    const artifact = await api('POST', '/api/v1/artifacts?name=chaos-fw&version=9.0.0', bytes, 'application/octet-stream');
    fleet = new VirtualFleet({ server: lb.url, pollSeconds: 5, connections: 128 });
    await fleet.add(pullIds.map((id, i) => ({ id, token: tokens[i]!, version: '1.0.0' })));
    fleet.connect(pullIds);
    const rollout = await api(
      'POST',
      '/api/v1/rollouts',
      JSON.stringify({ name: 'chaos', artifactId: artifact.id, filter: {}, strategy: 'progressive', phases: [{ percent: 10, successThreshold: 90 }, { percent: 40, successThreshold: 90 }, { percent: 100, successThreshold: 90 }], retry: { maxAttempts: 20, backoffSeconds: 1, maxBackoffSeconds: 3 } }),
      'application/json',
    );

    // Kill and restart servers at random moments of the rollout: each kill is due once a random
    // share of the executions has finished (drawn up front, so kills land in every phase, in the
    // middle of deliveries rather than between phases), plus a random delay.
    const monitor = o.dialect === 'sqlite' ? await openStore({ sqliteFile: path.join(dataDir, 'orchestrator.db') }) : store;
    const executionStates = () => monitor.stats.countBy({ table: 'executions', column: 'state' });
    const remaining = async () => Object.entries(await executionStates()).reduce((sum, [state, n]) => (isTerminal(state as ExecutionState) ? sum : sum + n), 0);
    const total = devices.length;
    const killAt = Array.from({ length: o.maxKills }, () => 0.02 + random() * 0.9).sort((a, b) => a - b);
    o.log(`  kills due when ${killAt.map((f) => `${Math.round(f * 100)}%`).join(', ')} of the executions have finished`);
    let kills = 0;
    const deadline = Date.now() + o.timeoutMs;
    let left = await remaining();
    let lastLog = 0;
    while (left > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      left = await remaining();
      if (process.env.CHAOS_DEBUG && Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        o.log(`  ${Math.round((Date.now() - started) / 1000)}s: ${left} left`);
      }
      if (left === 0 || kills >= killAt.length || (total - left) / total < killAt[kills]!) continue;
      await new Promise((r) => setTimeout(r, random() * 1000));
      const victim = Math.floor(random() * o.servers);
      await servers[victim]!.kill();
      servers[victim] = null;
      lb.setBackends(servers.filter((s): s is ServerProcess => s !== null).map((s) => s.url));
      kills++;
      o.log(`  kill #${kills}: server ${victim} (SIGKILL) with ${left} of ${total} executions not finished`);
      await new Promise((r) => setTimeout(r, random() * 1500));
      await start(victim);
    }
    if (left > 0) {
      o.log(`  timed out with ${left} executions not finished; servers' stderr:`);
      for (const server of servers) o.log(server?.stderr().slice(-3000) ?? '(down)');
      const rows = (await monitor.executionViews.summaryRows(rollout.id as string, 0)).map((r) => ({ phase: r.phase, state: r.state, n: r.n }));
      const now = await monitor.rollouts.get(rollout.id as string);
      o.log(`  executions by phase/state: ${JSON.stringify(rows)}; rollout: ${JSON.stringify({ status: now?.status, currentPhase: now?.currentPhase, statusReason: now?.statusReason })}`);
    }
    // Let the devices' last reports land, then stop everything cleanly.
    const allIds = [...pushIds, ...pullIds];
    const idleDeadline = Date.now() + 15_000;
    while (!fleet.idle(pullIds) && Date.now() < idleDeadline) await new Promise((r) => setTimeout(r, 200));
    const pullInstalls = new Map(pullIds.map((id) => [id, fleet!.installsOf(id)]));
    await fleet.stop();
    fleet = null;
    // Completion is the engine jobs' decision (the next lock holder's, after a kill): wait for it.
    let status = 'running';
    for (const until = Date.now() + 30_000; status === 'running' && Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
      status = String((await api('GET', `/api/v1/rollouts/${rollout.id as string}`, undefined, 'application/json')).status);
    }
    for (let i = 0; i < servers.length; i++) await servers[i]?.stop();
    servers.fill(null);

    const states: Partial<Record<ExecutionState, number>> = await executionStates();
    const perDevice = await monitor.stats.eventsPerDevice(rollout.id as string, TERMINAL_EVENTS);
    if (monitor !== store) await monitor.close();
    const installs = (id: string) => counter.installs.get(id) ?? pullInstalls.get(id) ?? 0;
    return {
      kills,
      seconds: Math.round((Date.now() - started) / 1000),
      notOnce: allIds.map((id) => ({ deviceId: id, installs: installs(id) })).filter((r) => r.installs !== 1),
      overlaps: [...counter.overlaps],
      states,
      nonTerminal: Object.entries(states).filter(([s]) => !isTerminal(s as ExecutionState)).reduce((n, [, c]) => n + c, 0),
      terminalEventsNotOne: allIds.map((id) => ({ deviceId: id, n: perDevice.get(id) ?? 0 })).filter((r) => r.n !== 1),
      rolloutStatus: status,
      pushAttempts: [...counter.attempts.values()].reduce((a, b) => a + b, 0),
    };
  } finally {
    await fleet?.stop();
    for (const s of servers) await s?.kill();
    await lb.close();
    await counter.close();
    if (o.dialect === 'postgres') await store.close();
    await pgdb?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
