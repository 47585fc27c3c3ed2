// The agent's durable state: what is installed (current and previous slot), the job in progress and
// the reports not yet delivered. Saved atomically (temp file, fsync, rename) after every step, so a
// kill at any moment leaves either the old or the new state on disk, never a torn one.
import fs from 'node:fs';
import path from 'node:path';
import type { ByteRange, DeviceReport, TargetUpdate } from '../core/index.js';

/** Something installed on the device: a file in a slot, or a container image. */
export interface InstalledRelease {
  name: string;
  version: string;
  sha256: string | null;
  handler: 'file' | 'script' | 'container';
  /** 'a' or 'b' for file-based handlers. */
  slot: string | null;
  /** Path of the installed file, relative to the agent directory. */
  file: string | null;
  imageRef: string | null;
  executionId: string | null;
}

/** `ready`: downloaded and verified for a download-ahead target, kept until the server says install. */
export type JobPhase = 'download' | 'verify' | 'ready' | 'install' | 'health' | 'rollback';
export type JobOutcome = 'succeeded' | 'failed' | 'rolled-back';

/**
 * How the artifact's bytes are coming: whole, or as a delta (chunks copied from files held here,
 * the missing ranges fetched a batch per step so the state after each is durable).
 */
export interface TransferState {
  mode: 'full' | 'delta';
  /** Why the whole file is fetched although a delta was possible (or why a delta fell back). */
  reason?: string;
  /** Bytes that crossed the network so far (index, ranges, whole file). */
  fetched: number;
  /** Bytes of the file copied from files held here. */
  reused: number;
  /** Delta: the ranges to fetch, in file order, and the first not yet fetched. */
  missing?: ByteRange[];
  next?: number;
  /** Delta: retryable failures of the current batch in a row. */
  failures?: number;
  /** Full: what had been fetched before the full download began (an index, an abandoned delta). */
  fetchedBefore?: number;
}

/** Where a multi-component job is. */
export interface ComponentProgress {
  /** Index into update.components of the component being downloaded, verified or installed. */
  part: number;
  /** Components switched so far, in install order, with what each ran before (rolled back in reverse). */
  installed: { component: string; before: InstalledRelease | null; after: InstalledRelease }[];
  /** What the device ran as a whole before this update (restored by a rollback). */
  before: InstalledRelease | null;
}

/** The update being applied. `phase` is the next thing to do; `outcome` set means only reporting is left. */
export interface AgentJob {
  update: TargetUpdate;
  phase: JobPhase;
  outcome: JobOutcome | null;
  error: string | null;
  /** Bytes of the artifact held so far. */
  bytes: number;
  /** Set once install switched to the new release (a rollback has something to undo). */
  switched: boolean;
  /** Set once the download started (absent in states saved before deltas existed). */
  transfer?: TransferState;
  /** A multi-component update (update.components): which component it is on, and which it switched. */
  parts?: ComponentProgress;
}

export type ExecutionReport = NonNullable<DeviceReport['execution']>;

export interface AgentState {
  current: InstalledRelease | null;
  previous: InstalledRelease | null;
  /**
   * What runs per component after multi-component updates (each in DIR/components/<component>);
   * `current` then names the release as a whole. Absent on agents that never had one.
   */
  components?: Record<string, InstalledRelease>;
  job: AgentJob | null;
  /** Executions already finished here (most recent last), so a repeated target is not redone. */
  done: string[];
  /** Latest undelivered report per execution, oldest first. */
  outbox: ExecutionReport[];
}

export const emptyState = (): AgentState => ({ current: null, previous: null, job: null, done: [], outbox: [] });

/** Where the agent keeps its state: a file for real agents, memory for simulated ones. */
export interface StateStore {
  load(): Promise<AgentState>;
  save(state: AgentState): Promise<void>;
}

export class FileStateStore implements StateStore {
  constructor(readonly file: string) {}

  async load(): Promise<AgentState> {
    try {
      return { ...emptyState(), ...(JSON.parse(await fs.promises.readFile(this.file, 'utf8')) as Partial<AgentState>) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw new Error(`cannot read the agent state ${this.file}: ${(error as Error).message}`);
    }
  }

  async save(state: AgentState): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(state, null, 1));
  }
}

export class MemoryStateStore implements StateStore {
  private state: AgentState = emptyState();
  async load(): Promise<AgentState> {
    return structuredClone(this.state);
  }
  async save(state: AgentState): Promise<void> {
    this.state = structuredClone(state);
  }
}

/** Writes a file so that readers see the old or the new content, even across a crash. */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const handle = await fs.promises.open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.promises.rename(tmp, file);
  await syncDir(path.dirname(file));
}

export async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await fs.promises.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  }
}
