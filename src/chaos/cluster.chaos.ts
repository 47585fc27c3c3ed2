// The chaos suite: servers killed with SIGKILL at random moments during a rollout over push and
// pull devices, restarted, until it ends. Then every device has the artifact exactly once
// (counted on the device side), every execution is terminal, and each device has one terminal
// event. Three servers on PostgreSQL, and one server on SQLite killed repeatedly.
import { describe, expect, it } from 'vitest';
import { builtCliMissing, requirePeer } from '../testing/peers.js';
import { postgresUnavailable } from '../testing/postgres.js';
import { runChaos, type ChaosOptions, type ChaosReport } from './chaos-run.js';

const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const log = (line: string) => process.stdout.write(line + '\n');

function expectClean(report: ChaosReport, devices: number): void {
  log(`  result: ${JSON.stringify({ kills: report.kills, seconds: report.seconds, status: report.rolloutStatus, states: report.states, pushAttempts: report.pushAttempts })}`);
  expect(report.kills).toBeGreaterThan(0);
  expect(report.nonTerminal).toBe(0);
  expect(report.states.succeeded).toBe(devices);
  expect(report.notOnce.slice(0, 10)).toEqual([]);
  expect(report.overlaps).toEqual([]);
  expect(report.terminalEventsNotOne.slice(0, 10)).toEqual([]);
  expect(report.rolloutStatus).toBe('completed');
}

const run = (o: Omit<ChaosOptions, 'seed' | 'log'>) => runChaos({ ...o, seed, log });

describe.skipIf(requirePeer('the built CLI', builtCliMissing()))('chaos: servers killed during a rollout', () => {
  it('three servers on PostgreSQL, 5,000 devices (push and pull)', async (ctx) => {
    if (await postgresUnavailable()) ctx.skip();
    const report = await run({ dialect: 'postgres', servers: 3, pushDevices: 3500, pullDevices: 1500, maxKills: 5, timeoutMs: 300_000 });
    expectClean(report, 5000);
  });

  it('one server on SQLite, killed repeatedly', async () => {
    const report = await run({ dialect: 'sqlite', servers: 1, pushDevices: 2000, pullDevices: 1000, maxKills: 4, timeoutMs: 180_000 });
    expectClean(report, 3000);
  });
});
