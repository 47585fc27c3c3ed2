// Row types of migration 0015's release tables (a release, and its artifacts in order) and of
// migration 0017's execution components.

export interface ReleaseRow {
  id: string;
  name: string;
  version: string;
  created_by: string;
  created_at: number;
}

export interface ReleaseArtifactRow {
  release_id: string;
  position: number;
  artifact_id: string;
  component: string;
  /** Comma-separated protocols, or null for any. */
  match_protocol: string | null;
  /** A picomatch glob over the device type, or null for any. */
  match_device_type: string | null;
}

/** One component an execution delivers, of several (migration 0017), keyed by the execution's (rollout, device). */
export interface ExecutionComponentRow {
  rollout_id: string;
  device_id: string;
  /** 0-based install order. */
  position: number;
  component: string;
  artifact_id: string;
}
