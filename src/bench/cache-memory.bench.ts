// `npm run bench -- cache-memory [--devices N (200000)]`: the heap a device costs the server's
// poll path once it polled: its cached token (Authenticator) and its cached target state
// (TargetCache), idle and after a rollout invalidated every device twice (released, finished).
// Baseline in the same run: a bare Map of device id to a 27-character ETag, the least a cache that
// answers 304 from memory can hold. Heap after a full GC, one JSON line.
import { randomBytes, randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Authenticator } from '../api/auth.js';
import { TargetCache } from '../pull/target-cache.js';
import type { TokenRecord, TokenRepository } from '../store/index.js';

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

export async function run(args: string[]): Promise<void> {
  const devices = Number(arg(args, 'devices', '200000'));
  if (!Number.isInteger(devices) || devices < 1_000) throw new Error('--devices must be an integer of at least 1000');
  v8.setFlagsFromString('--expose-gc');
  const collect = vm.runInNewContext('gc') as () => void;
  const heap = () => {
    collect();
    collect();
    return process.memoryUsage().heapUsed;
  };
  const ids = Array.from({ length: devices }, (_, i) => `dev-${String(i).padStart(7, '0')}`);
  const tokens = ids.map(() => `uo_dev_${randomBytes(24).toString('base64url')}`);
  const records = new Map(tokens.map((t, i): [string, TokenRecord] => [t, { id: randomUUID(), kind: 'device', deviceId: ids[i]!, role: null, name: `device-${ids[i]}`, createdAt: '', expiresAt: null, revokedAt: null } as unknown as TokenRecord]));
  const clock = { now: () => Date.now() };
  const perDevice = (bytes: number) => Math.round(bytes / devices);

  const floor0 = heap();
  const floor = new Map<string, string>();
  for (const id of ids) floor.set(id, `"${randomBytes(20).toString('base64url').slice(0, 27)}"`);
  const floorBytes = heap() - floor0;
  if (floor.size !== devices) throw new Error('baseline map incomplete');
  floor.clear();

  const start = heap();
  const auth = new Authenticator({ findActive: async (token: string) => records.get(token) ?? null } as unknown as TokenRepository, clock, { deviceTtlMs: 3_600_000, maxEntries: devices * 2 });
  for (const token of tokens) await auth.resolve(token);
  const afterTokens = heap();
  const targets = new TargetCache({ sync: { currentTarget: async () => null, onTargetChanged: () => () => {} }, enrollmentOf: async () => 'accepted', downloadUrl: () => null, pollIntervalSeconds: 300 });
  for (const id of ids) await targets.get(id);
  const afterTargets = heap();
  for (let round = 0; round < 2; round++) {
    targets.invalidate(ids);
    for (const id of ids) await targets.get(id);
  }
  const afterRollout = heap();
  // Both caches are used after the last measurement, or the collector may take them early.
  if (targets.size !== devices) throw new Error(`target cache holds ${targets.size} of ${devices} devices`);
  if (tokens.some((token) => auth.cached(token) === undefined)) throw new Error('a token fell out of the cache');
  console.log(
    JSON.stringify({
      bench: 'cache-memory',
      devices,
      token_bytes_per_device: perDevice(afterTokens - start),
      target_bytes_per_device: perDevice(afterTargets - afterTokens),
      after_rollout_bytes_per_device: perDevice(afterRollout - afterTokens),
      total_bytes_per_device: perDevice(afterRollout - start),
      baseline_etag_map_bytes_per_device: perDevice(floorBytes),
      total_mib_at_1m: Math.round(((afterRollout - start) / devices) * 1_000_000 / 1024 / 1024),
    }),
  );
}
