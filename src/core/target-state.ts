// The pull protocol's shapes: what the server wants a device to run (desired) and what the
// device says it runs (observed). Separate types, compared by the engine.
import type { ExecutionState } from './execution.js';

export interface HealthCheck {
  type: 'http' | 'tcp' | 'command';
  /** http: URL; tcp: host:port; command: shell command. */
  target: string;
  /** http: status expected (default 200). */
  expectStatus?: number;
  timeoutSeconds?: number;
}

export interface InstallSpec {
  handler: 'file' | 'script' | 'container';
  /** Handler settings: script command, container command template, file name. */
  settings: Record<string, string | number | boolean>;
}

/** What a target says of one artifact to install: the update's own, or one of its components. */
export interface TargetArtifact {
  artifactId: string;
  name: string;
  version: string;
  sha256: string | null;
  size: number;
  signature: string | null;
  imageRef: string | null;
  downloadUrl: string | null;
  /** The artifact's chunk index, for a delta download from files the device holds; absent or null: download it whole. */
  index?: TargetChunkIndex | null;
  install: InstallSpec;
}

/**
 * One component of a multi-component update (issue 15 item 4), in the release's install order:
 * the artifact for it, where to fetch it and how to install it.
 */
export interface TargetComponent extends TargetArtifact {
  /** The release's component name, e.g. `os`, `app`. */
  component: string;
}

/** The update a device should apply: one execution of one rollout. */
export interface TargetUpdate extends TargetArtifact {
  executionId: string;
  rolloutId: string;
  healthChecks: HealthCheck[];
  /** Seconds the health checks may take to pass after install (default 60). */
  healthDeadlineSeconds?: number;
  /**
   * Present on a rollback that switches the device back to the release it kept in its other slot
   * (A/B): leave the release named by name, version and these hashes; nothing is downloaded. The
   * top-level sha256, imageRef and downloadUrl are null, so an agent that does not know this field
   * cannot mistake the target for an installed update and fails it instead.
   */
  revert?: { sha256: string | null; imageRef: string | null };
  /**
   * Present when a release gives the device several components: download and verify each,
   * install them in this order (each through its handler), run the health checks (all
   * components') once all are in, and roll every one back, in reverse order, if any step fails.
   * name and version are then the release's (what the device runs once all are in), artifactId
   * the first component's, size their sum; the top-level sha256, signature, imageRef and
   * downloadUrl are null, so an agent that does not know this field fails the target instead of
   * installing a part of it.
   */
  components?: TargetComponent[];
  /**
   * What to do with the update now. `install`: download, verify and install it. `download`: a
   * download-ahead rollout whose maintenance window is closed for this device: download and verify
   * it, report `downloaded`, and keep it until the target says `install` (its ETag changes, and an
   * MQTT wake-up is sent, when the window opens). Absent: install (servers before download-ahead).
   */
  action?: TargetAction;
  /** With action `download`: when the window next opens (ISO), where known; informational, the server decides. */
  installAfter?: string | null;
}

export const TARGET_ACTIONS = ['install', 'download'] as const;
export type TargetAction = (typeof TARGET_ACTIONS)[number];

/** Where a device fetches an artifact's chunk index and how it checks it. */
export interface TargetChunkIndex {
  /** GET it (gzip-compressed where accepted); same authorization as downloadUrl. */
  url: string;
  /** Hex sha256 of the encoded index: the fetched bytes must hash to it. */
  sha256: string;
  /** base64 ed25519 signature over signedIndexMessage() by the artifact's signer, or null. */
  signature: string | null;
  chunks: number;
  /** Bytes of the encoded index (uncompressed). */
  bytes: number;
}

/** Desired state served at GET /api/v1/device/:id/state. */
export interface TargetState {
  deviceId: string;
  /** 'pending' while an operator has not accepted an enrolled device (no update is served). */
  enrollment: 'accepted' | 'pending';
  /** Seconds the server wants between polls. */
  pollIntervalSeconds: number;
  /** Null when the device should simply keep what it runs. */
  update: TargetUpdate | null;
}

/** The progress states a device may report for an execution. */
export const REPORTED_STATES = ['downloading', 'downloaded', 'installing', 'verifying', 'succeeded', 'failed', 'rolled-back'] as const;
export type ReportedState = (typeof REPORTED_STATES)[number];

/** Observed state sent in PATCH /api/v1/device/state. */
export interface DeviceReport {
  version?: string;
  /** The device's hardware type (the agent's --device-type), which releases match against. */
  deviceType?: string;
  inventory?: Record<string, unknown>;
  execution?: {
    id: string;
    state: Extract<ExecutionState, ReportedState>;
    /** Bytes of the artifact held so far. */
    bytes?: number;
    /** Bytes fetched over the network so far (index, ranges, full download). */
    bytesFetched?: number;
    /** Bytes taken from files the device already held. */
    bytesReused?: number;
    error?: string;
  };
}
