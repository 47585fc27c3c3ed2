// The cache sync's reading of the event feed: per-device registry events drop those devices'
// cached target states, a bulk action's one audit event drops them all (its per-device events
// are not published on the server that ran it), token events drop cached tokens.
import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/index.js';
import { syncCaches } from './cache-sync.js';

function harness() {
  let feed: (events: EventRecord[]) => void = () => {};
  let revoked: (ids: string[]) => void = () => {};
  let reset: () => void = () => {};
  const calls: string[] = [];
  const stop = syncCaches({
    feed: { subscribe: (l) => ((feed = l), () => {}) },
    tokenRevocations: { subscribe: (l) => ((revoked = l), () => {}) },
    onReset: (l) => ((reset = l), () => {}),
    targets: { invalidate: (ids) => calls.push(`invalidate ${ids.join(',')}`), clear: () => calls.push('clear') },
    auth: { invalidate: () => calls.push('tokens'), invalidateDevices: (ids) => calls.push(`tokens of ${ids.join(',')}`) },
  });
  const event = (type: string, deviceId: string | null = null): EventRecord => ({ id: 1, ts: '', type, actor: null, rolloutId: null, deviceId, executionId: null, data: {} });
  return { calls, stop, send: (...events: EventRecord[]) => feed(events), event, revoke: (...ids: string[]) => revoked(ids), reset: () => reset() };
}

describe('cache sync', () => {
  it('drops one device’s target state for its registry event, every one for a bulk action', () => {
    const h = harness();
    h.send(h.event('device.updated', 'd1'), h.event('execution.succeeded', 'd2'));
    expect(h.calls).toEqual(['invalidate d1']);
    h.send(h.event('devices.bulk-tag'));
    expect(h.calls).toEqual(['invalidate d1', 'clear']);
    h.send(h.event('device.decommissioned', 'd3'));
    expect(h.calls).toEqual(['invalidate d1', 'clear', 'invalidate d3', 'tokens']);
    h.stop();
  });

  it('drops the tokens of devices whose tokens were revoked, and everything after a gap', () => {
    const h = harness();
    h.revoke('d1', 'd2');
    expect(h.calls).toEqual(['tokens of d1,d2']);
    h.reset();
    expect(h.calls).toEqual(['tokens of d1,d2', 'clear', 'tokens']);
  });
});
