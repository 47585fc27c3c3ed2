// One executor per planned step (the table balena-supervisor keeps in composition-steps.ts). Each
// changes the in-memory state; the apply loop saves it after every step and plans again.
import type { KeyObject } from 'node:crypto';
import { verifyArtifactSignature, type DeviceReport, type TargetUpdate } from '../core/index.js';
import { ProtocolError, type AgentClient } from './client.js';
import { DeltaFallback, type DeltaDownloader, type DeltaIo } from './delta-download.js';
import type { HandlerTable } from './handlers/handler.js';
import type { HealthRunner } from './health.js';
import type { AgentLog } from './log.js';
import { componentsProblem, downloadComponent, installComponent, removeComponentPartials, rollbackComponents, verifyComponent } from './components.js';
import type { PartialStore } from './partials.js';
import type { Step, StepAction } from './planner.js';
import type { AgentJob, AgentState, ExecutionReport } from './state.js';

export interface AgentContext {
  state: AgentState;
  client: AgentClient;
  partials: PartialStore;
  handlers: HandlerTable;
  /** Handlers for one component of a multi-component update (its own directory and slots); absent: `handlers`. */
  componentHandlers?: (component: string) => HandlerTable;
  health: HealthRunner;
  /** Signatures must verify against this key; null accepts unsigned artifacts (hash still checked). */
  trustedKey: string | KeyObject | null;
  log: AgentLog;
  /** Sent with reports when given. */
  inventory?: () => Record<string, unknown>;
  /** Called while downloading, for live progress. */
  onProgress?: (job: AgentJob) => void;
  /** Delta downloads from the releases held here; absent: always download whole (simulated agents). */
  delta?: DeltaDownloader | null;
}

const KEEP_DONE = 100;

export const partialKey = (update: TargetUpdate) => update.sha256 ?? update.executionId;

/** True when `release` is the one a revert target names (name, version and, when given, its hashes). */
function isRelease(release: { name: string; version: string; sha256: string | null; imageRef: string | null }, update: TargetUpdate): boolean {
  if (release.name !== update.name || release.version !== update.version) return false;
  const want = update.revert!;
  if (want.sha256 && release.sha256 && release.sha256 !== want.sha256) return false;
  return !(want.imageRef && release.imageRef && release.imageRef !== want.imageRef);
}

/** Queues a report, replacing an older undelivered one of the same execution. */
export function queueReport(state: AgentState, report: ExecutionReport): void {
  state.outbox = [...state.outbox.filter((r) => r.id !== report.id), report];
}

/** The transfer figures a report carries (bytes fetched over the network, bytes reused). */
export function transferReport(job: AgentJob): Pick<ExecutionReport, 'bytesFetched' | 'bytesReused'> {
  return job.transfer ? { bytesFetched: job.transfer.fetched, bytesReused: job.transfer.reused } : {};
}

function deltaIo(ctx: AgentContext, job: AgentJob): DeltaIo | null {
  const partialFile = ctx.partials.pathOf(partialKey(job.update));
  if (!ctx.delta || !partialFile) return null;
  return { client: ctx.client, trustedKey: ctx.trustedKey, log: ctx.log, partialFile, onProgress: () => ctx.onProgress?.(job) };
}

/** Gives up a delta: the whole file is downloaded next, whatever was fetched so far stays counted. */
async function fallBackToFull(ctx: AgentContext, job: AgentJob, reason: string): Promise<void> {
  ctx.log.warn('the delta download failed; downloading the whole artifact', { version: job.update.version, reason });
  const key = partialKey(job.update);
  const partialFile = ctx.partials.pathOf(key);
  await ctx.partials.remove(key);
  if (partialFile) await ctx.delta?.discard(partialFile);
  const fetched = job.transfer?.fetched ?? 0;
  job.transfer = { mode: 'full', reason: `delta abandoned: ${reason}`, fetched, reused: 0, fetchedBefore: fetched };
  job.bytes = 0;
  job.phase = 'download';
}

function requireJob(state: AgentState): AgentJob {
  if (!state.job) throw new Error('no job in progress');
  return state.job;
}

function fail(ctx: AgentContext, job: AgentJob, error: string): void {
  job.outcome = 'failed';
  job.error = error;
  ctx.log.error('update failed', { version: job.update.version, execution: job.update.executionId, error });
}

type Executor<A extends StepAction> = (step: Extract<Step, { action: A }>, ctx: AgentContext) => Promise<void>;

export const EXECUTORS: { [A in StepAction]: Executor<A> } = {
  async start({ update }, ctx) {
    if (update.components?.length) {
      ctx.state.job = { update, phase: 'download', outcome: null, error: null, bytes: 0, switched: false, parts: { part: 0, installed: [], before: null } };
      const problem = componentsProblem(update);
      if (problem) fail(ctx, ctx.state.job, problem);
      ctx.log.info('update available', { name: update.name, version: update.version, execution: update.executionId, components: update.components.map((c) => c.component).join(', ') });
      if (!problem) queueReport(ctx.state, { id: update.executionId, state: 'downloading', bytes: 0 });
      return;
    }
    const needsDownload = !!update.downloadUrl;
    ctx.state.job = { update, phase: needsDownload ? 'download' : 'verify', outcome: null, error: null, bytes: 0, switched: false };
    if (!needsDownload && !update.imageRef) fail(ctx, ctx.state.job, 'the target has neither a download URL nor an image reference');
    ctx.log.info('update available', { name: update.name, version: update.version, execution: update.executionId, handler: update.install.handler });
    if (needsDownload) queueReport(ctx.state, { id: update.executionId, state: 'downloading', bytes: 0 });
  },

  async 'already-installed'({ update }, ctx) {
    ctx.log.info('already installed', { version: update.version, execution: update.executionId });
    queueReport(ctx.state, { id: update.executionId, state: 'succeeded' });
    ctx.state.done = [...ctx.state.done, update.executionId].slice(-KEEP_DONE);
  },

  /** A rollback to the release kept in the other slot: switch back to it, nothing to download. */
  async revert({ update }, ctx) {
    const { current, previous } = ctx.state;
    const leaving = current !== null && isRelease(current, update);
    let report: ExecutionReport;
    if (!leaving) {
      ctx.log.info('nothing to revert: the release to leave does not run here', { version: update.version, running: current?.version ?? 'nothing', execution: update.executionId });
      report = { id: update.executionId, state: 'succeeded' };
    } else if (!previous) {
      report = { id: update.executionId, state: 'failed', error: `cannot switch back from ${update.name} ${update.version}: this device keeps no previous release` };
      ctx.log.error('revert failed', { version: update.version, execution: update.executionId, error: report.error });
    } else {
      try {
        await ctx.handlers[current.handler].rollback(previous, current, ctx.log);
        ctx.state.current = previous;
        ctx.state.previous = current;
        report = { id: update.executionId, state: 'succeeded' };
        ctx.log.info('switched back to the previous release', { from: current.version, to: previous.version, slot: previous.slot ?? undefined, execution: update.executionId });
      } catch (error) {
        report = { id: update.executionId, state: 'failed', error: `switching back to ${previous.name} ${previous.version} failed: ${(error as Error).message}`.slice(0, 4000) };
        ctx.log.error('revert failed', { version: update.version, execution: update.executionId, error: report.error });
      }
    }
    queueReport(ctx.state, report);
    ctx.state.done = [...ctx.state.done, update.executionId].slice(-KEEP_DONE);
  },

  async drop({ reason }, ctx) {
    const job = requireJob(ctx.state);
    ctx.log.warn('dropping update', { version: job.update.version, execution: job.update.executionId, reason });
    const partialFile = ctx.partials.pathOf(partialKey(job.update));
    await ctx.partials.remove(partialKey(job.update));
    if (partialFile) await ctx.delta?.discard(partialFile);
    await removeComponentPartials(ctx, job.update);
    ctx.state.job = null;
  },

  async download(_step, ctx) {
    const job = requireJob(ctx.state);
    const { update } = job;
    if (update.components?.length) return downloadComponent(ctx, job);
    const key = partialKey(update);
    const io = deltaIo(ctx, job);
    if (!job.transfer) {
      job.transfer = io && update.index ? await ctx.delta!.prepare(job, ctx.state, io) : { mode: 'full', fetched: 0, reused: 0 };
      // A delta copied what is held here; the next steps fetch the missing ranges, one batch each.
      if (job.transfer.mode === 'delta') return;
      job.transfer.fetchedBefore = job.transfer.fetched;
    }
    if (job.transfer.mode === 'delta') {
      if (!io) return fallBackToFull(ctx, job, 'this agent cannot assemble deltas');
      try {
        if (await ctx.delta!.fetchNext(job, io)) {
          job.phase = 'verify';
          ctx.log.info('downloaded a delta', { version: update.version, fetched: job.transfer.fetched, reused: job.transfer.reused, size: update.size });
        }
      } catch (error) {
        if (!(error instanceof DeltaFallback)) throw error;
        await fallBackToFull(ctx, job, error.message);
      }
      return;
    }
    const transfer = job.transfer;
    let have = await ctx.partials.size(key);
    if (have > update.size) {
      await ctx.partials.remove(key);
      have = 0;
    }
    if (have < update.size || update.size === 0) {
      let response;
      try {
        response = await ctx.client.openDownload(update.downloadUrl!, have);
      } catch (error) {
        if (error instanceof ProtocolError && error.status === 416) await ctx.partials.remove(key);
        // 403: not (or no longer) targeted, e.g. its rollout was paused before this download
        // started; the next poll says whether to go on or drop the job. Never a failure of the update.
        if (error instanceof ProtocolError && !error.retryable && error.status !== 416 && error.status !== 403) return fail(ctx, job, error.message);
        throw error;
      }
      if (have > 0) ctx.log.info(response.start === have ? 'resuming download' : 'server sent the whole file; downloading again', { from: have, size: update.size });
      // Every byte of the partial file came over the network, even those fetched before a restart.
      transfer.fetched = Math.max(transfer.fetched, (transfer.fetchedBefore ?? 0) + response.start);
      const total = await ctx.partials.write(key, response.start, response.body, (bytes) => {
        job.bytes = bytes;
        transfer.fetched = (transfer.fetchedBefore ?? 0) + bytes;
        ctx.onProgress?.(job);
      });
      job.bytes = total;
      if (total < update.size) throw new Error(`download ended early at ${total} of ${update.size} bytes`);
    }
    job.phase = 'verify';
    ctx.log.info('downloaded', { version: update.version, bytes: update.size });
  },

  async verify(_step, ctx) {
    const job = requireJob(ctx.state);
    const { update } = job;
    if (update.components?.length) {
      if ((await verifyComponent(ctx, job)) === 'install') queueReport(ctx.state, { id: update.executionId, state: 'installing', bytes: job.bytes, ...transferReport(job) });
      return;
    }
    if (update.downloadUrl) {
      if (!update.sha256) return fail(ctx, job, 'the target gives no sha256; refusing to install an unverifiable file');
      const actual = await ctx.partials.sha256(partialKey(update));
      if (actual !== update.sha256.toLowerCase()) {
        if (job.transfer?.mode === 'delta') return fallBackToFull(ctx, job, `the assembled file hashes to ${actual}, not ${update.sha256}`);
        await ctx.partials.remove(partialKey(update));
        return fail(ctx, job, `sha256 mismatch: expected ${update.sha256}, got ${actual}; the artifact was corrupted or tampered with`);
      }
    }
    if (ctx.trustedKey) {
      if (!update.signature) return fail(ctx, job, 'the artifact is not signed and this agent trusts only signed artifacts');
      if (!update.sha256 || !verifyArtifactSignature({ name: update.name, version: update.version, sha256: update.sha256 }, update.signature, ctx.trustedKey)) {
        await ctx.partials.remove(partialKey(update));
        return fail(ctx, job, 'bad signature: the artifact is not signed by the trusted key');
      }
    }
    const partialFile = ctx.partials.pathOf(partialKey(update));
    if (partialFile && update.downloadUrl) await ctx.delta?.remember(job, ctx.state, partialFile);
    job.phase = 'install';
    queueReport(ctx.state, { id: update.executionId, state: 'installing', bytes: job.bytes, ...transferReport(job) });
  },

  /** Download ahead: the verified artifact is kept until the server opens the window. */
  async hold(_step, ctx) {
    const job = requireJob(ctx.state);
    job.phase = 'ready';
    ctx.log.info('downloaded ahead; installing when the server opens the maintenance window', { version: job.update.version, execution: job.update.executionId, after: job.update.installAfter ?? undefined });
    queueReport(ctx.state, { id: job.update.executionId, state: 'downloaded', bytes: job.bytes, ...transferReport(job) });
  },

  /** The window opened: install what was downloaded ahead (the file was verified already). */
  async release({ update }, ctx) {
    const job = requireJob(ctx.state);
    job.update = update;
    job.phase = 'install';
    ctx.log.info('the maintenance window is open; installing', { version: update.version, execution: update.executionId });
    queueReport(ctx.state, { id: update.executionId, state: 'installing', bytes: job.bytes, ...transferReport(job) });
  },

  async install(_step, ctx) {
    const job = requireJob(ctx.state);
    const { update } = job;
    if (update.components?.length) {
      if ((await installComponent(ctx, job)) === 'health') {
        ctx.log.info('installed every component', { version: update.version });
        queueReport(ctx.state, { id: update.executionId, state: 'verifying', bytes: job.bytes, ...transferReport(job) });
      }
      return;
    }
    const handler = ctx.handlers[update.install.handler];
    try {
      const release = await handler.install({ update, file: update.downloadUrl ? ctx.partials.pathOf(partialKey(update)) : null, current: ctx.state.current, log: ctx.log });
      ctx.state.previous = ctx.state.current;
      ctx.state.current = release;
      job.switched = true;
    } catch (error) {
      return fail(ctx, job, `install failed: ${(error as Error).message}`);
    }
    job.phase = 'health';
    ctx.log.info('installed', { version: update.version, slot: ctx.state.current?.slot ?? undefined });
    queueReport(ctx.state, { id: update.executionId, state: 'verifying', bytes: job.bytes, ...transferReport(job) });
  },

  async health(_step, ctx) {
    const job = requireJob(ctx.state);
    const problem = await ctx.health.check(job.update);
    if (problem === null) {
      job.outcome = 'succeeded';
      ctx.log.info('update succeeded', { version: job.update.version, execution: job.update.executionId });
      return;
    }
    job.error = problem;
    job.phase = 'rollback';
    ctx.log.warn('health checks failed; rolling back', { version: job.update.version, problem });
  },

  async rollback(_step, ctx) {
    const job = requireJob(ctx.state);
    const failed = ctx.state.current;
    if (job.update.components?.length) await rollbackComponents(ctx, job);
    else if (job.switched && failed) {
      await ctx.handlers[failed.handler].rollback(ctx.state.previous, failed, ctx.log);
      ctx.state.current = ctx.state.previous;
      ctx.state.previous = null;
    }
    job.outcome = 'rolled-back';
    ctx.log.warn('rolled back', { to: ctx.state.current?.version ?? 'nothing', execution: job.update.executionId });
  },

  async finish(_step, ctx) {
    const job = requireJob(ctx.state);
    const report: ExecutionReport = { id: job.update.executionId, state: job.outcome!, bytes: job.bytes, ...transferReport(job) };
    if (job.error) report.error = job.error.slice(0, 4000);
    queueReport(ctx.state, report);
    ctx.state.done = [...ctx.state.done, job.update.executionId].slice(-KEEP_DONE);
    ctx.state.job = null;
    const partialFile = ctx.partials.pathOf(partialKey(job.update));
    await ctx.partials.remove(partialKey(job.update));
    if (partialFile) await ctx.delta?.discard(partialFile);
    await removeComponentPartials(ctx, job.update);
  },

  async report(_step, ctx) {
    for (const execution of [...ctx.state.outbox]) {
      const report: DeviceReport = { execution };
      if (ctx.state.current) report.version = ctx.state.current.version;
      try {
        await ctx.client.report(report);
      } catch (error) {
        if (error instanceof ProtocolError && error.retryable) {
          ctx.log.debug('report not delivered; will retry', { error: error.message });
          return;
        }
        ctx.log.warn('the server refused a report; dropping it', { execution: execution.id, state: execution.state, error: (error as Error).message });
      }
      ctx.state.outbox = ctx.state.outbox.filter((r) => r !== execution && !(r.id === execution.id && r.state === execution.state));
    }
  },
};

/** Runs one step through its executor. */
export function execute(step: Step, ctx: AgentContext): Promise<void> {
  return (EXECUTORS[step.action] as (s: Step, c: AgentContext) => Promise<void>)(step, ctx);
}
