// Row types of the device protocol adapters' tables (migration 0006: hawkBit DDI, Mender).
import type { Generated } from 'kysely';

export interface HawkbitTenantRow {
  name: string;
  gateway_token_hash: string | null;
  created_at: number;
  updated_at: number;
}

/** hawkBit action ids are numbers; each execution served over DDI gets one. */
export interface HawkbitActionRow {
  id: Generated<number>;
  execution_id: string;
  device_id: string;
  offered_at: number | null;
  cancel_acked_at: number | null;
  /** The DDI `update` mode last served ('forced' | 'attempt' | 'skip'). */
  last_update_mode: string | null;
  created_at: number;
}

export interface ArtifactHashRow {
  artifact_id: string;
  sha1: string;
  md5: string;
  created_at: number;
}

export interface MenderAuthSetRow {
  id: string;
  device_id: string;
  id_data: string;
  pubkey: string;
  /** 'pending' | 'accepted' | 'rejected' | 'preauthorized' | 'decommissioned' */
  status: string;
  created_at: number;
  updated_at: number;
}

export interface ProtocolSecretRow {
  name: string;
  value: string;
  created_at: number;
}
