// Row types of the SQL schema as Kysely sees it. Timestamps are epoch milliseconds (BIGINT);
// JSON columns are TEXT in both dialects so one query layer serves SQLite and PostgreSQL.
import type { Generated } from 'kysely';
import type { ArtifactHashRow, HawkbitActionRow, HawkbitTenantRow, MenderAuthSetRow, ProtocolSecretRow } from './protocol.schema.js';
import type { ExecutionComponentRow, ReleaseArtifactRow, ReleaseRow } from './release.schema.js';
import type { ExecutionCountDeltaRow, ExecutionCountRow, ExecutionRow, RolloutRow } from './rollout.schema.js';

export interface DeviceRow {
  id: string;
  name: string;
  address: string | null;
  mode: string;
  status: string;
  last_seen: number | null;
  version: string | null;
  version_key: string | null;
  location: string | null;
  timezone: string;
  tags: string;
  metadata: string;
  created_at: number;
  updated_at: number;
  /** 'accepted' | 'pending' | 'rejected' (migration 0004; defaulted, so inserts may omit it). */
  enrollment?: string;
  /** 'native' | 'hawkbit' | 'mender' (migration 0006; defaulted, so inserts may omit it). */
  protocol?: string;
  /** hawkBit tenant (migration 0013). */
  tenant: string;
  /** When it was decommissioned, else null (migration 0013; defaulted, so inserts may omit it). */
  decommissioned_at?: number | null;
  /** The hardware type releases match against (migration 0015). */
  device_type: string | null;
}

/** One device credential, sealed (migration 0009). */
export interface DeviceSecretRow {
  device_id: string;
  key: string;
  sealed: string;
  key_id: string;
  updated_at: number;
}

/** The one key the database's credentials are sealed under (migration 0009). */
export interface SecretsKeyRow {
  id: number;
  key_id: string;
  bound_at: number;
  sealed_at: number | null;
}

export interface DeviceTagRow {
  device_id: string;
  key: string;
  value: string;
}

export interface TokenRow {
  id: string;
  hash: string;
  kind: string;
  role: string | null;
  device_id: string | null;
  name: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface EventRow {
  id: Generated<number>;
  ts: number;
  type: string;
  actor: string | null;
  rollout_id: string | null;
  device_id: string | null;
  execution_id: string | null;
  data: string;
}

export interface LockRow {
  name: string;
  owner: string;
  expires_at: number;
}

export interface MigrationRow {
  version: string;
  applied_at: number;
}

export interface ArtifactRow {
  id: string;
  name: string;
  version: string;
  kind: string;
  sha256: string | null;
  size: number;
  content_type: string;
  signature: string | null;
  image_ref: string | null;
  storage_key: string | null;
  metadata: string;
  created_at: number;
  index_sha256: string | null;
  index_signature: string | null;
  /** JSON {chunks, avgSize, bytes}. */
  index_info: string | null;
}

export interface EnrollmentKeyRow {
  id: string;
  hash: string;
  name: string;
  auto_accept: number;
  defaults: string;
  max_uses: number | null;
  uses: number;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface DeviceReportRow {
  device_id: string;
  inventory: string;
  report: string;
  enrollment_key_id: string | null;
  reported_at: number;
}

/** Registry webhook policy (migration 0005). filter/template are JSON. */
export interface PolicyRow {
  id: string;
  name: string;
  image_pattern: string;
  filter: string;
  template: string;
  enabled: number;
  created_by: string;
  created_at: number;
  updated_at: number;
}

/** Seen webhook deliveries (delivery id or payload digest), for replay refusal. */
export interface WebhookReceiptRow {
  key: string;
  received_at: number;
}

/** An image a policy rolled out (migration 0008): `image_key` is `repo@digest` or `repo:tag`. */
export interface PolicyRolloutRow {
  policy_id: string;
  image_key: string;
  /** Null while the rollout is being created. */
  rollout_id: string | null;
  created_at: number;
}

/** Outbound notification subscription; event_types is a JSON array. */
export interface SubscriptionRow {
  id: string;
  name: string;
  url: string;
  event_types: string;
  secret: string | null;
  format: string;
  /** Last event id handled by the notifier. */
  last_event_id: number;
  enabled: number;
  created_by: string;
  created_at: number;
  /** 'webhook' or 'email' (migration 0011). */
  kind: string;
  /** JSON array of recipients of an email subscription. */
  email_to: string;
}

/** A saved group (migration 0016). */
export interface DeviceGroupRow {
  id: string;
  tenant: string;
  name: string;
  /** 'static' | 'dynamic'. */
  kind: string;
  /** A dynamic group's filter as JSON (the device list's query keys); null for a static one. */
  filter: string | null;
  created_at: number;
  updated_at: number;
}

export interface DeviceGroupMemberRow {
  group_id: string;
  device_id: string;
}

/** The frozen selection of one bulk action, inside its transaction (migration 0016). */
export interface BulkSelectionRow {
  run_id: string;
  device_id: string;
}

/** Every table; capabilities add theirs here as their migrations add them. */
export interface Database {
  devices: DeviceRow;
  device_tags: DeviceTagRow;
  device_secrets: DeviceSecretRow;
  secrets_key: SecretsKeyRow;
  tokens: TokenRow;
  events: EventRow;
  locks: LockRow;
  schema_migrations: MigrationRow;
  artifacts: ArtifactRow;
  enrollment_keys: EnrollmentKeyRow;
  device_reports: DeviceReportRow;
  rollouts: RolloutRow;
  executions: ExecutionRow;
  hawkbit_tenants: HawkbitTenantRow;
  hawkbit_actions: HawkbitActionRow;
  artifact_hashes: ArtifactHashRow;
  mender_auth_sets: MenderAuthSetRow;
  protocol_secrets: ProtocolSecretRow;
  policies: PolicyRow;
  policy_rollouts: PolicyRolloutRow;
  webhook_receipts: WebhookReceiptRow;
  subscriptions: SubscriptionRow;
  releases: ReleaseRow;
  release_artifacts: ReleaseArtifactRow;
  device_groups: DeviceGroupRow;
  device_group_members: DeviceGroupMemberRow;
  bulk_selections: BulkSelectionRow;
  execution_components: ExecutionComponentRow;
  execution_counts: ExecutionCountRow;
  execution_count_deltas: ExecutionCountDeltaRow;
}
