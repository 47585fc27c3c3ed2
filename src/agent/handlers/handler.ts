// The install handler interface: put a verified artifact in service, or put the previous release
// back. Handlers are idempotent: the agent may run install again after a crash mid-install.
import type { TargetUpdate } from '../../core/index.js';
import type { AgentLog } from '../log.js';
import type { InstalledRelease } from '../state.js';

export interface InstallContext {
  update: TargetUpdate;
  /** The verified file (null for container images or in-memory agents). */
  file: string | null;
  /** What runs now (the release to keep as previous). */
  current: InstalledRelease | null;
  log: AgentLog;
}

export interface InstallHandler {
  install(ctx: InstallContext): Promise<InstalledRelease>;
  /** Makes `to` active again after `from` failed (to is null when nothing ran before). */
  rollback(to: InstalledRelease | null, from: InstalledRelease, log: AgentLog): Promise<void>;
}

export type HandlerName = 'file' | 'script' | 'container';
export type HandlerTable = Record<HandlerName, InstallHandler>;

/** A failed install; the agent rolls back what was switched and reports `failed`. */
export class InstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstallError';
  }
}
