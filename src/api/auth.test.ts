// The authenticator's cache: answers from memory until a device's tokens are invalidated, for one
// token or several per device (a re-issued token beside the one still cached).
import { describe, expect, it } from 'vitest';
import type { TokenRecord, TokenRepository } from '../store/index.js';
import { Authenticator } from './auth.js';

function tokens(records: Record<string, TokenRecord>) {
  const lookups: string[] = [];
  const repository = { findActive: async (token: string) => (lookups.push(token), records[token] ?? null) } as unknown as TokenRepository;
  return { repository, lookups };
}

const device = (id: string, deviceId: string): TokenRecord => ({ id, kind: 'device', role: null, deviceId, name: id, createdAt: '', expiresAt: null, revokedAt: null });

describe('Authenticator', () => {
  it('caches principals and known-bad tokens, and forgets every cached token of invalidated devices', async () => {
    const { repository, lookups } = tokens({ a1: device('t1', 'dev-a'), a2: device('t2', 'dev-a'), b1: device('t3', 'dev-b') });
    const auth = new Authenticator(repository, { now: () => 1_000 }, { deviceTtlMs: 60_000 });
    for (const token of ['a1', 'a2', 'b1', 'nope']) await auth.resolve(token);
    expect(auth.cached('a1')).toMatchObject({ kind: 'device', deviceId: 'dev-a' });
    expect(auth.cached('nope')).toBeNull();
    expect(auth.cached('never-seen')).toBeUndefined();
    for (const token of ['a1', 'a2', 'b1']) await auth.resolve(token);
    expect(lookups).toEqual(['a1', 'a2', 'b1', 'nope']);
    auth.invalidateDevices(['dev-a']);
    expect([auth.cached('a1'), auth.cached('a2')]).toEqual([undefined, undefined]);
    expect(auth.cached('b1')).toMatchObject({ deviceId: 'dev-b' });
    await auth.resolve('a2');
    expect(lookups.at(-1)).toBe('a2');
    auth.invalidateDevices(['dev-a', 'dev-unknown']);
    expect(auth.cached('a2')).toBeUndefined();
  });
});
