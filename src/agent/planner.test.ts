// The planner is pure: (state, target) -> steps. These cases pin the decisions the agent's crash
// safety relies on.
import { describe, expect, it } from 'vitest';
import type { TargetState, TargetUpdate } from '../core/index.js';
import { plan } from './planner.js';
import { emptyState, type AgentState } from './state.js';

const update = (over: Partial<TargetUpdate> = {}): TargetUpdate => ({
  executionId: 'e1', rolloutId: 'r1', artifactId: 'a1', name: 'app', version: '2.0.0', sha256: 'ab'.repeat(32), size: 10, signature: null, imageRef: null,
  downloadUrl: '/dl', install: { handler: 'file', settings: {} }, healthChecks: [], ...over,
});
const target = (u: TargetUpdate | null): TargetState => ({ deviceId: 'd', enrollment: 'accepted', pollIntervalSeconds: 60, update: u });
const withJob = (phase: NonNullable<AgentState['job']>['phase'], over: Partial<NonNullable<AgentState['job']>> = {}): AgentState => ({
  ...emptyState(), job: { update: update(), phase, outcome: null, error: null, bytes: 0, switched: false, ...over },
});

describe('agent planner', () => {
  it('does nothing without a target, and starts a new update', () => {
    expect(plan(emptyState(), null)).toEqual([]);
    expect(plan(emptyState(), target(null))).toEqual([]);
    expect(plan(emptyState(), target(update()))).toEqual([{ action: 'start', update: update() }]);
  });

  it('answers already-installed when the same bytes run, and never redoes a finished execution', () => {
    const state: AgentState = { ...emptyState(), current: { name: 'app', version: '2.0.0', sha256: 'ab'.repeat(32), handler: 'file', slot: 'a', file: 'slot-a/x', imageRef: null, executionId: 'old' } };
    expect(plan(state, target(update()))[0]?.action).toBe('already-installed');
    expect(plan({ ...emptyState(), done: ['e1'] }, target(update()))).toEqual([]);
  });

  it('continues the job phase by phase, also before the target is known (after a restart)', () => {
    for (const phase of ['download', 'verify', 'install', 'health', 'rollback'] as const) {
      expect(plan(withJob(phase), null)).toEqual([{ action: phase }]);
      expect(plan(withJob(phase), target(update()))).toEqual([{ action: phase }]);
    }
    expect(plan(withJob('health', { outcome: 'succeeded' }), null)).toEqual([{ action: 'finish' }]);
  });

  it('drops a job the server no longer wants only before anything was installed', () => {
    expect(plan(withJob('download'), target(null))[0]).toMatchObject({ action: 'drop' });
    expect(plan(withJob('verify'), target(update({ executionId: 'e2' })))[0]).toMatchObject({ action: 'drop' });
    expect(plan(withJob('install'), target(null))).toEqual([{ action: 'install' }]);
    expect(plan(withJob('health'), target(null))).toEqual([{ action: 'health' }]);
  });

  it('reports last, after the work', () => {
    const state = { ...withJob('download'), outbox: [{ id: 'e1', state: 'downloading' as const }] };
    expect(plan(state, null)).toEqual([{ action: 'download' }, { action: 'report' }]);
    expect(plan({ ...emptyState(), outbox: state.outbox }, null)).toEqual([{ action: 'report' }]);
  });
});
