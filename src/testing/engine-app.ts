// Test support: a real app with its own rollout engine (started by listen), and rollouts driven
// through the operator API, so protocol adapters are exercised with real rollouts, executions and
// the state machine, exactly as in production.
import type { Config } from '../config.js';
import type { Clock, Rollout } from '../core/index.js';
import { startTestApp, type TestApp } from './app.js';

/** Rollouts through POST /api/v1/rollouts and its actions. */
export interface RolloutClient {
  create(input: Record<string, unknown>, actor?: string): Promise<Rollout>;
  get(id: string): Promise<Rollout>;
  cancel(id: string, actor?: string): Promise<Rollout>;
}

export interface EngineApp {
  t: TestApp;
  rollouts: RolloutClient;
  close(): Promise<void>;
}

export async function startAppWithEngine(config: Partial<Config> = {}, manualClock?: Clock, db: 'sqlite' | 'postgres' = 'sqlite'): Promise<EngineApp> {
  const t = await startTestApp({ db, config, ...(manualClock ? { app: { clock: manualClock } } : {}) });
  const call = async (method: string, path: string, body?: unknown): Promise<Rollout> => {
    const response = await t.request(method, path, { token: t.tokens.operator, ...(body !== undefined ? { body } : {}) });
    if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${response.text}`);
    return response.json() as Rollout;
  };
  return {
    t,
    rollouts: {
      create: (input) => call('POST', '/api/v1/rollouts', input),
      get: (id) => call('GET', `/api/v1/rollouts/${id}`),
      cancel: (id) => call('POST', `/api/v1/rollouts/${id}/cancel`, {}),
    },
    close: () => t.close(),
  };
}
