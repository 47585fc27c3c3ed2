// Test support: a real app whose device sync is the real rollout engine over the app's own store,
// so protocol adapters are exercised with real rollouts, executions and the state machine.
import type { Config } from '../../config.js';
import type { Clock } from '../../core/index.js';
import type { DeviceSync, TargetChangedListener } from '../../engine/device-sync.js';
import { createEngine, type EngineParts } from '../../engine/index.js';
import { startTestApp, type TestApp } from '../../testing/app.js';

export interface EngineApp {
  t: TestApp;
  parts: EngineParts;
  close(): Promise<void>;
}

/**
 * The app is built before the engine (the engine needs the app's store), so the app gets a device
 * sync that forwards to the engine once it exists.
 */
export async function startAppWithEngine(config: Partial<Config> = {}, manualClock?: Clock): Promise<EngineApp> {
  let parts: EngineParts | null = null;
  const early: TargetChangedListener[] = [];
  const engine = () => {
    if (!parts) throw new Error('the engine is not started yet');
    return parts.deviceSync;
  };
  const sync: DeviceSync = {
    currentTarget: (id) => engine().currentTarget(id),
    applyReport: (id, report, actor) => engine().applyReport(id, report, actor),
    deviceSeen: (ids) => (parts ? parts.deviceSync.deviceSeen(ids) : Promise.resolve()),
    onTargetChanged(listener) {
      if (parts) return parts.deviceSync.onTargetChanged(listener);
      early.push(listener);
      return () => undefined;
    },
  };
  const t = await startTestApp({ config, app: { deviceSync: sync, ...(manualClock ? { clock: manualClock } : {}) } });
  const { store, events, clock } = t.app;
  parts = createEngine({ store, events, clock, transports: new Map(), concurrency: 8, tickMs: 20, jobsMs: 200 });
  for (const listener of early) parts.deviceSync.onTargetChanged(listener);
  parts.engine.start();
  return {
    t,
    parts,
    async close() {
      await parts?.engine.stop();
      await t.close();
    },
  };
}
