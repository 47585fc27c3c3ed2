// Several components of a release in one update (issue 15 item 4): the target lists them in the
// release's order. The agent downloads and verifies each (one component per step, so a restart
// resumes at the one it was on), installs them in order, each through its own handler and slots
// (DIR/components/<component>), runs the health checks once all are in, and if any step fails puts
// EVERY switched component back to what it ran before, in reverse order. The job remembers which
// components it switched and what each ran before, saved after every step, so a rollback after a
// restart undoes exactly those.
//
// What the device runs afterwards: per component, the component's artifact (state.components);
// as a whole, the release (state.current is the release's name and version, which the agent
// reports as its version).
import { verifyArtifactSignature, type TargetComponent, type TargetUpdate } from '../core/index.js';
import type { KeyObject } from 'node:crypto';
import { ProtocolError, type AgentClient } from './client.js';
import type { HandlerTable } from './handlers/handler.js';
import type { AgentLog } from './log.js';
import type { PartialStore } from './partials.js';
import type { AgentJob, AgentState, ComponentProgress } from './state.js';

/** What these steps need of the agent's context (executors.ts AgentContext). */
export interface ComponentContext {
  state: AgentState;
  client: AgentClient;
  partials: PartialStore;
  handlers: HandlerTable;
  componentHandlers?: (component: string) => HandlerTable;
  trustedKey: string | KeyObject | null;
  log: AgentLog;
  onProgress?: (job: AgentJob) => void;
}

/** Component names the agent accepts (the server's rule): they name directories. */
const COMPONENT_NAME = /^[a-z0-9][a-z0-9_.-]{0,31}$/;

/** One component as an update of its own, for its handler (name, version, hashes, install spec). */
export function componentUpdate(update: TargetUpdate, c: TargetComponent): TargetUpdate {
  const { components: _all, ...rest } = update;
  return { ...rest, artifactId: c.artifactId, name: c.name, version: c.version, sha256: c.sha256, size: c.size, signature: c.signature, imageRef: c.imageRef, downloadUrl: c.downloadUrl, index: null, install: c.install };
}

/** Where a component's download is kept while it is in progress. */
export const componentPartialKey = (update: TargetUpdate, c: TargetComponent) => c.sha256 ?? `${update.executionId}.${c.component}`;

/** The handlers for a component (its own directory and slots); the agent's own when not configured. */
function handlersFor(ctx: ComponentContext, component: string): HandlerTable {
  return ctx.componentHandlers ? ctx.componentHandlers(component) : ctx.handlers;
}

function componentsOf(job: AgentJob): TargetComponent[] {
  return job.update.components ?? [];
}

function progressOf(job: AgentJob): ComponentProgress {
  job.parts ??= { part: 0, installed: [], before: null };
  return job.parts;
}

const label = (c: TargetComponent) => `component ${c.component} (${c.name} ${c.version})`;

function failJob(ctx: ComponentContext, job: AgentJob, error: string): void {
  job.outcome = 'failed';
  job.error = error;
  ctx.log.error('update failed', { version: job.update.version, execution: job.update.executionId, error });
}

/** What is wrong with a multi-component target before anything is fetched, or null. */
export function componentsProblem(update: TargetUpdate): string | null {
  const list = update.components ?? [];
  const seen = new Set<string>();
  for (const c of list) {
    if (!COMPONENT_NAME.test(c.component)) return `the target names a component '${String(c.component).slice(0, 40)}' this agent cannot keep (a-z, 0-9, _ . -)`;
    if (seen.has(c.component)) return `the target names component ${c.component} twice`;
    seen.add(c.component);
    if (!c.downloadUrl && !c.imageRef) return `${label(c)} has neither a download URL nor an image reference`;
  }
  return null;
}

/** Bytes of the components before the current one (all downloaded and verified). */
function bytesBefore(job: AgentJob, part: number): number {
  return componentsOf(job)
    .slice(0, part)
    .reduce((sum, c) => sum + (c.downloadUrl ? c.size : 0), 0);
}

/** Downloads the current component whole (resuming a partial file); the next step verifies it. */
export async function downloadComponent(ctx: ComponentContext, job: AgentJob): Promise<void> {
  const parts = progressOf(job);
  const c = componentsOf(job)[parts.part]!;
  job.transfer ??= { mode: 'full', fetched: 0, reused: 0, fetchedBefore: 0 };
  const transfer = job.transfer;
  const before = bytesBefore(job, parts.part);
  if (c.downloadUrl) {
    const key = componentPartialKey(job.update, c);
    let have = await ctx.partials.size(key);
    if (have > c.size) {
      await ctx.partials.remove(key);
      have = 0;
    }
    if (have < c.size || c.size === 0) {
      let response;
      try {
        response = await ctx.client.openDownload(c.downloadUrl, have);
      } catch (error) {
        if (error instanceof ProtocolError && error.status === 416) await ctx.partials.remove(key);
        if (error instanceof ProtocolError && !error.retryable && error.status !== 416 && error.status !== 403) return failJob(ctx, job, `${label(c)}: download failed: ${error.message}`);
        throw error;
      }
      transfer.fetchedBefore = before;
      transfer.fetched = Math.max(transfer.fetched, before + response.start);
      const total = await ctx.partials.write(key, response.start, response.body, (bytes) => {
        job.bytes = before + bytes;
        transfer.fetched = before + bytes;
        ctx.onProgress?.(job);
      });
      job.bytes = before + total;
      if (total < c.size) throw new Error(`download of ${label(c)} ended early at ${total} of ${c.size} bytes`);
    }
    ctx.log.info('downloaded a component', { component: c.component, version: c.version, bytes: c.size });
  }
  job.phase = 'verify';
}

/** Verifies the current component (hash, signature); then the next one downloads, or the install begins. */
export async function verifyComponent(ctx: ComponentContext, job: AgentJob): Promise<'next' | 'install' | 'failed'> {
  const parts = progressOf(job);
  const list = componentsOf(job);
  const c = list[parts.part]!;
  const key = componentPartialKey(job.update, c);
  if (c.downloadUrl) {
    if (!c.sha256) return (failJob(ctx, job, `${label(c)}: the target gives no sha256; refusing to install an unverifiable file`), 'failed');
    const actual = await ctx.partials.sha256(key);
    if (actual !== c.sha256.toLowerCase()) {
      await ctx.partials.remove(key);
      return (failJob(ctx, job, `${label(c)}: sha256 mismatch: expected ${c.sha256}, got ${actual}; the artifact was corrupted or tampered with`), 'failed');
    }
  }
  if (ctx.trustedKey) {
    if (!c.signature) return (failJob(ctx, job, `${label(c)}: the artifact is not signed and this agent trusts only signed artifacts`), 'failed');
    if (!c.sha256 || !verifyArtifactSignature({ name: c.name, version: c.version, sha256: c.sha256 }, c.signature, ctx.trustedKey)) {
      await ctx.partials.remove(key);
      return (failJob(ctx, job, `${label(c)}: bad signature: the artifact is not signed by the trusted key`), 'failed');
    }
  }
  if (parts.part < list.length - 1) {
    parts.part++;
    job.phase = 'download';
    return 'next';
  }
  parts.part = 0;
  job.phase = 'install';
  return 'install';
}

/**
 * Installs the current component through its handler and records it as switched; after the last,
 * the device runs the release as a whole and the health checks come next. A failed install sends
 * the job to rollback (every component switched so far goes back), naming the component.
 */
export async function installComponent(ctx: ComponentContext, job: AgentJob): Promise<'next' | 'health' | 'rollback' | 'failed'> {
  const parts = progressOf(job);
  const list = componentsOf(job);
  const c = list[parts.part]!;
  ctx.state.components ??= {};
  if (parts.part === 0 && parts.installed.length === 0) parts.before = ctx.state.current;
  const running = ctx.state.components[c.component] ?? null;
  const update = componentUpdate(job.update, c);
  try {
    const release = await handlersFor(ctx, c.component)[c.install.handler].install({ update, file: c.downloadUrl ? ctx.partials.pathOf(componentPartialKey(job.update, c)) : null, current: running, log: ctx.log });
    parts.installed.push({ component: c.component, before: running, after: release });
    ctx.state.components[c.component] = release;
    job.switched = true;
  } catch (error) {
    job.error = `${label(c)}: install failed: ${(error as Error).message}`;
    if (parts.installed.length === 0) return (failJob(ctx, job, job.error), 'failed');
    job.phase = 'rollback';
    ctx.log.warn('a component failed to install; rolling every installed component back', { component: c.component, error: job.error });
    return 'rollback';
  }
  ctx.log.info('installed a component', { component: c.component, version: c.version, slot: ctx.state.components[c.component]?.slot ?? undefined });
  if (parts.part < list.length - 1) {
    parts.part++;
    return 'next';
  }
  // All in: the device runs the release as a whole (its name and version are what it reports).
  const u = job.update;
  ctx.state.previous = parts.before;
  ctx.state.current = { name: u.name, version: u.version, sha256: null, handler: u.install.handler, slot: null, file: null, imageRef: null, executionId: u.executionId };
  job.phase = 'health';
  return 'health';
}

/** Puts every switched component back, newest first, and the device's release as a whole. */
export async function rollbackComponents(ctx: ComponentContext, job: AgentJob): Promise<void> {
  const parts = progressOf(job);
  ctx.state.components ??= {};
  const list = componentsOf(job);
  for (const done of [...parts.installed].reverse()) {
    const handler = list.find((c) => c.component === done.component)?.install.handler ?? done.after.handler;
    await handlersFor(ctx, done.component)[handler].rollback(done.before, done.after, ctx.log);
    if (done.before) ctx.state.components[done.component] = done.before;
    else delete ctx.state.components[done.component];
    // Durable once the step is saved; a crash before that redoes the (idempotent) rollbacks.
    parts.installed = parts.installed.filter((i) => i !== done);
    ctx.log.warn('rolled a component back', { component: done.component, to: done.before?.version ?? 'nothing' });
  }
  if (job.switched) {
    ctx.state.current = parts.before;
    ctx.state.previous = null;
  }
}

/** Removes every component's partial download. */
export async function removeComponentPartials(ctx: ComponentContext, update: TargetUpdate): Promise<void> {
  for (const c of update.components ?? []) await ctx.partials.remove(componentPartialKey(update, c));
}
