// Row types of migration 0015's release tables: a release, and its artifacts in order.

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
