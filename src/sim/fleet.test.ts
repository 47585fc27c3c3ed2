// The simulator against a real server: 1,000 virtual agents enroll, poll with ETags and all take an
// update with no errors; a smaller fleet with injected faults ends each device in the right state.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { ManualTargets, uploadArtifact } from '../testing/pull.js';
import { Fleet } from './fleet.js';

describe('fleet simulator', () => {
  let t: TestApp;
  const targets = new ManualTargets();
  beforeAll(async () => {
    t = await startTestApp({ app: { deviceSync: targets }, config: { authRateLimitPerMinute: 1_000_000 } });
  });
  afterAll(async () => t.close());

  it('1,000 devices enroll and all install an update with no errors', async () => {
    const fleet = await Fleet.create({ server: t.url, token: t.tokens.admin, devices: 1000, pollSeconds: 1, versions: ['1.0.0', '1.1.0'], timezones: ['America/New_York', 'Europe/Berlin'], connections: 32 });
    try {
      expect((await t.request('GET', '/api/v1/devices/count')).json()).toEqual({ total: 1000 });
      fleet.start();
      await fleet.waitUntil((s) => s.polls >= 1000, { timeoutMs: 60_000 });
      const artifact = await uploadArtifact(t.app, randomBytes(64 * 1024), { name: 'firmware', version: '2.0.0' });
      const executions = fleet.devices.map((d) => targets.target(d.spec.id, artifact));
      fleet.wakeAll();
      const done = await fleet.waitUntil((s) => s.versions['2.0.0'] === 1000 && s.phases.idle === 1000, { timeoutMs: 120_000 });
      expect(done.errors).toBe(0);
      expect(done.notModified).toBeGreaterThan(0);
      expect(executions.every((e) => targets.execution(e.deviceId)?.state === 'succeeded')).toBe(true);
    } finally {
      const summary = await fleet.stop();
      expect(summary.errors).toBe(0);
    }
  });

  it('with faults injected, drops are resumed, corruptions fail and health failures roll back', async () => {
    const fleet = await Fleet.create({ server: t.url, token: t.tokens.admin, devices: 60, idPrefix: 'faulty-', pollSeconds: 1, downloadDropRate: 0.5, badHashRate: 0.2, healthFailRate: 0.2, seed: 42 });
    try {
      fleet.start();
      const artifact = await uploadArtifact(t.app, randomBytes(256 * 1024), { name: 'firmware', version: '3.0.0' });
      for (const d of fleet.devices) targets.target(d.spec.id, artifact);
      fleet.wakeAll();
      const terminal = ['succeeded', 'failed', 'rolled-back'];
      await fleet.waitUntil(() => fleet.devices.every((d) => terminal.includes(targets.execution(d.spec.id)!.state)), { timeoutMs: 60_000 });
      const states = fleet.devices.map((d) => targets.execution(d.spec.id)!);
      const count = (s: string) => states.filter((e) => e.state === s).length;
      const summary = fleet.summary();
      expect(summary.drops).toBeGreaterThan(0);
      expect(count('failed')).toBeGreaterThan(0);
      expect(count('rolled-back')).toBe(summary.rollbacks);
      expect(count('succeeded') + count('failed') + count('rolled-back')).toBe(60);
      expect(states.filter((e) => e.state === 'failed').every((e) => /sha256 mismatch/.test(e.error ?? ''))).toBe(true);
      // Every device that succeeded runs 3.0.0; the others kept their version.
      for (const d of fleet.devices) expect(d.version).toBe(targets.execution(d.spec.id)!.state === 'succeeded' ? '3.0.0' : '1.0.0');
      expect(summary.errors).toBe(0);
    } finally {
      await fleet.stop();
    }
  });
});
