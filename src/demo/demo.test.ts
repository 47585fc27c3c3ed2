// The POS demo end to end (the library entry point `orchestrator demo --no-wait` runs): 60
// terminals, the six scenarios of seed 002, each reaching its expected outcome; then the server's
// own registry is read back to confirm what the scenarios claim.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoRun } from './demo.js';
import { posFleet } from './pos-fleet.js';
import { SCENARIOS } from './scenarios.js';

describe('orchestrator demo (60 terminals)', () => {
  let run: DemoRun;
  let output = '';
  beforeAll(async () => {
    run = await runDemo({ devices: 60, port: 0, out: (text) => (output += text + '\n') });
  }, 120_000);
  afterAll(() => run?.close());

  const get = async (path: string) => (await fetch(run.url + path, { headers: { authorization: `Bearer ${run.token}` } })).json() as Promise<Record<string, unknown>>;

  it('runs the six scenarios, each to its expected outcome, and prints plan and outcome tables', () => {
    expect(run.results.map((r) => ({ key: r.key, problems: r.problems }))).toEqual(SCENARIOS.map((s) => ({ key: s.key, problems: [] })));
    expect(run.ok).toBe(true);
    for (const s of SCENARIOS) expect(output).toContain(s.title);
    expect(output.match(/^Outcome$/gm)).toHaveLength(6);
    expect(output).toContain('Summary');
  });

  it('leaves the registry as the scenarios say: nothing reachable below 2.3.0, the never-seen terminals untouched', async () => {
    const rollouts = (await get('/api/v1/rollouts?limit=100')).items as { status: string }[];
    expect(rollouts.map((r) => r.status)).toEqual(Array(6).fill('completed'));
    expect((await get('/api/v1/devices?status=online&version=%3C2.3.0&limit=1')).total).toBe(0);
    const fleet = posFleet(60);
    const unknown = fleet.filter((t) => t.connectivity === 'unknown');
    expect(unknown.length).toBeGreaterThan(0);
    for (const t of unknown) expect((await get(`/api/v1/devices/${t.device.id}`)).version).toBe(t.device.version);
    // West terminals on the new line end at 2.5.2; east ones at 2.5.1 (the region update skipped them).
    const west = (await get('/api/v1/devices?tag=region:west&status=online&version=%3E%3D2.3.0&limit=500')).items as { version: string }[];
    expect(new Set(west.map((d) => d.version))).toEqual(new Set(['2.5.2']));
    const east = (await get('/api/v1/devices?tag=region:east&status=online&version=%3E%3D2.3.0&limit=500')).items as { id: string; version: string }[];
    const oldEast = new Set(fleet.filter((t) => t.device.tags.region === 'east' && t.device.version!.startsWith('2.2')).map((t) => t.device.id));
    expect(new Set(east.filter((d) => !oldEast.has(d.id)).map((d) => d.version))).toEqual(new Set(['2.5.1']));
  });
});
