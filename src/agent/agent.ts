// The agent: poll the target state (ETags, the server's interval with jitter, backoff on errors),
// then apply: plan, execute the first step, save the state, plan again, until nothing is left.
// Everything it touches comes through its constructor, so simulated agents reuse it whole.
import type { KeyObject } from 'node:crypto';
import type { TargetState } from '../core/index.js';
import { ProtocolError, type AgentClient } from './client.js';
import type { DeltaDownloader } from './delta-download.js';
import { execute, type AgentContext } from './executors.js';
import type { HandlerTable } from './handlers/handler.js';
import type { HealthRunner } from './health.js';
import type { AgentLog } from './log.js';
import type { PartialStore } from './partials.js';
import { plan } from './planner.js';
import type { AgentJob, AgentState, StateStore } from './state.js';

export interface AgentOptions {
  client: AgentClient;
  stateStore: StateStore;
  partials: PartialStore;
  handlers: HandlerTable;
  /** Handlers for one component of a multi-component update (its own directory and slots); absent: `handlers`. */
  componentHandlers?: (component: string) => HandlerTable;
  health: HealthRunner;
  trustedKey: string | KeyObject | null;
  log: AgentLog;
  inventory?: () => Record<string, unknown>;
  /** The hardware type sent with the announcement (releases match their artifacts against it). */
  deviceType?: string;
  onProgress?: (job: AgentJob) => void;
  /** Delta downloads from releases held on disk; absent: always download whole. */
  delta?: DeltaDownloader | null;
  /** Poll interval until the server says one, seconds. */
  defaultPollSeconds?: number;
  /** Poll at this interval whatever the server says (simulations). */
  fixedPollSeconds?: number;
  /** Longest wait after repeated errors, seconds. */
  maxBackoffSeconds?: number;
  /** 0..1; injected so tests are deterministic. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const MAX_STEPS_PER_ROUND = 1000;

export const abortableSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export class Agent {
  private state: AgentState | null = null;
  private target: TargetState | null = null;
  private etag: string | null = null;
  private errors = 0;
  private wake: (() => void) | null = null;
  private announced = false;
  /** Counters for summaries (the simulator reads them). */
  readonly stats = { polls: 0, notModified: 0, pollErrors: 0, applyErrors: 0 };

  constructor(private readonly options: AgentOptions) {}

  /** Loads the saved state (resuming whatever was in progress). */
  async init(): Promise<AgentState> {
    this.state = await this.options.stateStore.load();
    if (this.state.job) this.options.log.info('resuming after restart', { version: this.state.job.update.version, phase: this.state.job.outcome ? 'report' : this.state.job.phase });
    return this.state;
  }

  get current(): AgentState {
    if (!this.state) throw new Error('call init() first');
    return this.state;
  }

  get lastTarget(): TargetState | null {
    return this.target;
  }

  /** Fetches the target state; false when the server could not be asked. */
  async poll(): Promise<boolean> {
    this.stats.polls++;
    try {
      const result = await this.options.client.poll(this.etag);
      if (result.changed) {
        this.target = result.state;
        this.etag = result.etag;
      } else this.stats.notModified++;
      return true;
    } catch (error) {
      this.stats.pollErrors++;
      const refused = error instanceof ProtocolError && (error.status === 401 || error.status === 403);
      this.options.log[refused ? 'error' : 'warn'](refused ? 'the server refused this device token' : 'poll failed', { error: (error as Error).message });
      return false;
    }
  }

  /** Tells the server what runs here and the inventory, once per start. */
  private async announce(): Promise<void> {
    try {
      const current = this.current.current;
      await this.options.client.report({
        ...(current ? { version: current.version } : {}),
        ...(this.options.deviceType ? { deviceType: this.options.deviceType } : {}),
        ...(this.options.inventory ? { inventory: this.options.inventory() } : {}),
      });
      this.announced = true;
    } catch (error) {
      this.options.log.debug('could not announce the running version', { error: (error as Error).message });
    }
  }

  /** Plans and executes steps until none are left (or only undeliverable reports remain). */
  async apply(): Promise<void> {
    const state = this.current;
    const ctx: AgentContext = {
      state,
      client: this.options.client,
      partials: this.options.partials,
      handlers: this.options.handlers,
      componentHandlers: this.options.componentHandlers,
      health: this.options.health,
      trustedKey: this.options.trustedKey,
      log: this.options.log,
      inventory: this.options.inventory,
      onProgress: this.options.onProgress,
      delta: this.options.delta,
    };
    for (let i = 0; i < MAX_STEPS_PER_ROUND; i++) {
      const [step] = plan(state, this.target);
      if (!step) return;
      const outboxBefore = state.outbox.length;
      await execute(step, ctx);
      await this.options.stateStore.save(state);
      // Reports that could not be delivered wait for the next round.
      if (step.action === 'report' && state.outbox.length === outboxBefore) return;
    }
  }

  /** One round: poll, apply; answers how long to wait before the next round, ms. */
  async round(): Promise<number> {
    const polled = await this.poll();
    let failed = !polled;
    if (polled && !this.announced) await this.announce();
    try {
      await this.apply();
    } catch (error) {
      failed = true;
      this.stats.applyErrors++;
      this.options.log.warn('step failed; will retry', { error: (error as Error).message });
    }
    const random = this.options.random ?? Math.random;
    if (failed) {
      this.errors++;
      const backoff = Math.min(this.options.maxBackoffSeconds ?? 300, 2 ** Math.min(this.errors - 1, 10)) * 1000;
      return Math.round(backoff * (0.5 + random() / 2));
    }
    this.errors = 0;
    const interval = (this.options.fixedPollSeconds ?? this.target?.pollIntervalSeconds ?? this.options.defaultPollSeconds ?? 60) * 1000;
    // +-10% jitter so a fleet restarted together does not poll in lockstep.
    return Math.round(interval * (0.9 + random() * 0.2));
  }

  /** Polls at once instead of waiting for the interval (e.g. a wake-up message). */
  pollNow(): void {
    this.wake?.();
  }

  /** Runs rounds until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    if (!this.state) await this.init();
    const sleep = this.options.sleep ?? abortableSleep;
    while (!signal.aborted) {
      const delay = await this.round();
      if (signal.aborted) break;
      const woken = new AbortController();
      this.wake = () => woken.abort();
      const onAbort = () => woken.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      await sleep(delay, woken.signal);
      signal.removeEventListener('abort', onAbort);
      this.wake = null;
    }
  }
}
