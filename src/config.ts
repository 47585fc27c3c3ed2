// Server configuration: defaults, then ORCHESTRATOR_* environment variables, then explicit options.
// Defaults are closed (docs/security.md): loopback only, no trusted proxies, outbound deny list on.
import path from 'node:path';
import { CidrList } from './core/index.js';
import { outboundDenyEntries } from './outbound/index.js';

export interface Config {
  /** Address to listen on; undefined: loopback only (127.0.0.1, and ::1 where the machine has it). */
  host: string | undefined;
  port: number;
  /** Directory for the SQLite database, artifacts and first-start secrets. */
  dataDir: string;
  /** The key file that seals device credentials at rest (ORCHESTRATOR_SECRETS_KEY_FILE, default <dataDir>/secrets.key). */
  secretsKeyFile: string;
  /** postgres://... switches the store to PostgreSQL. */
  databaseUrl: string | undefined;
  /** URL devices and the CLI use to reach this server (download links); derived from host/port when unset. */
  publicUrl: string | undefined;
  logLevel: string;
  /** Largest JSON request body, bytes. */
  bodyLimit: number;
  /** Largest artifact upload, bytes. */
  artifactMaxBytes: number;
  /** Largest row of a CSV or NDJSON device import, bytes (the upload as a whole is streamed and not limited by it). */
  importMaxRowBytes: number;
  requireSignedArtifacts: boolean;
  /** PEM files of ed25519 public keys whose artifact signatures are accepted (ORCHESTRATOR_TRUSTED_KEYS, comma-separated). */
  trustedKeyFiles: string[];
  /** Poll interval the server asks pull devices for, seconds. */
  pollIntervalSeconds: number;
  /** hawkBit controller attributes read as the device type, first present wins (ORCHESTRATOR_HAWKBIT_DEVICE_TYPE_ATTRIBUTES, comma-separated). */
  hawkbitDeviceTypeAttributes: string[] | undefined;
  /** A device is offline after this many missed poll intervals. */
  offlineAfterMissedPolls: number;
  sshKeyPath: string | undefined;
  sshKnownHostsPath: string | undefined;
  /** Accept unknown SSH host keys on first use and remember them (never a changed key). */
  sshTrustOnFirstUse: boolean;
  /** Engine worker pool size (concurrent deliveries per server). */
  engineConcurrency: number;
  /** Milliseconds an engine's claim on a delivery lasts without renewal (a dead server's work is reclaimed after it). */
  engineLeaseMs: number;
  mqttUrl: string | undefined;
  /** Shared secret of registry webhooks: GHCR HMAC key, Docker Hub URL secret. Unset: webhooks are refused. */
  webhookSecret: string | undefined;
  /** A webhook delivery id or payload digest seen within this many seconds is refused as a replay. */
  webhookReplayWindowSeconds: number;
  /** Requests per minute per client IP on the webhook path (0: unlimited). */
  webhookRateLimitPerMinute: number;
  /**
   * Failed authentications per minute per client address before 429, on each of the operator API,
   * WebSocket, enrollment and webhook route families (0: unlimited).
   */
  authRateLimitPerMinute: number;
  /**
   * SMTP server of email notifications: smtp://[user[:password]@]host[:port] (STARTTLS required)
   * or smtps://... (implicit TLS). Unset: email subscriptions are refused. Never logged.
   */
  smtpUrl: string | undefined;
  /** SMTP login; overrides the URL's user. */
  smtpUser: string | undefined;
  /** SMTP password; overrides the URL's. Write-only: never logged or answered. */
  smtpPassword: string | undefined;
  /** tls (implicit, smtps), starttls (required) or none (a local relay); default from the URL's scheme. */
  smtpSecurity: string | undefined;
  /** PEM file of the CA that signs the SMTP server's certificate (default: the system's CAs). */
  smtpCaFile: string | undefined;
  /** From address of notification mail. */
  smtpFrom: string | undefined;
  /** The same for the device route families (device API, hawkBit DDI, Mender), where many devices may share one address. */
  deviceAuthRateLimitPerMinute: number;
  /** Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (CIDRs); empty: none, the peer address is the client. */
  trustedProxies: string[];
  /** CIDRs outbound connections (push deliveries, notifications) may not reach. */
  outboundDeny: string[];
  /** Unchanged device polls (native and hawkBit DDI) answered 304 in front of the framework (ORCHESTRATOR_FAST_POLL=false turns it off). */
  fastPolls: boolean;
}

function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number (got '${raw}')`);
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number of bytes, at least 1 (got ${value})`);
  return value;
}

const envBool = (env: NodeJS.ProcessEnv, name: string) => /^(1|true|yes)$/i.test(env[name] ?? '');

/** A comma-separated list of CIDRs; a bad entry stops the start with the variable's name. */
function cidrs(name: string, entries: string[]): string[] {
  try {
    CidrList.parse(entries);
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}`);
  }
  return entries.map((e) => e.trim()).filter(Boolean);
}

const list = (raw: string | undefined) => (raw ?? '').split(',').map((e) => e.trim()).filter(Boolean);

export function loadConfig(overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(overrides.dataDir ?? env.ORCHESTRATOR_DATA ?? './data');
  const config: Config = {
    host: env.ORCHESTRATOR_HOST || undefined,
    port: envNumber(env, 'ORCHESTRATOR_PORT', 8080),
    dataDir,
    secretsKeyFile: path.resolve(env.ORCHESTRATOR_SECRETS_KEY_FILE || path.join(dataDir, 'secrets.key')),
    databaseUrl: env.ORCHESTRATOR_DATABASE_URL || undefined,
    publicUrl: env.ORCHESTRATOR_PUBLIC_URL || undefined,
    logLevel: env.ORCHESTRATOR_LOG_LEVEL ?? 'info',
    bodyLimit: envNumber(env, 'ORCHESTRATOR_BODY_LIMIT', 1024 * 1024),
    artifactMaxBytes: envNumber(env, 'ORCHESTRATOR_ARTIFACT_MAX_BYTES', 8 * 1024 ** 3),
    importMaxRowBytes: positiveInteger('ORCHESTRATOR_IMPORT_MAX_ROW_BYTES', envNumber(env, 'ORCHESTRATOR_IMPORT_MAX_ROW_BYTES', 1024 * 1024)),
    requireSignedArtifacts: envBool(env, 'ORCHESTRATOR_REQUIRE_SIGNED'),
    trustedKeyFiles: (env.ORCHESTRATOR_TRUSTED_KEYS ?? '').split(',').map((f) => f.trim()).filter(Boolean),
    pollIntervalSeconds: envNumber(env, 'ORCHESTRATOR_POLL_INTERVAL', 60),
    hawkbitDeviceTypeAttributes: env.ORCHESTRATOR_HAWKBIT_DEVICE_TYPE_ATTRIBUTES ? env.ORCHESTRATOR_HAWKBIT_DEVICE_TYPE_ATTRIBUTES.split(',').map((a) => a.trim()).filter(Boolean) : undefined,
    offlineAfterMissedPolls: envNumber(env, 'ORCHESTRATOR_OFFLINE_AFTER_MISSED', 3),
    sshKeyPath: env.ORCHESTRATOR_SSH_KEY || undefined,
    sshKnownHostsPath: env.ORCHESTRATOR_SSH_KNOWN_HOSTS || undefined,
    sshTrustOnFirstUse: envBool(env, 'ORCHESTRATOR_SSH_TOFU'),
    engineConcurrency: envNumber(env, 'ORCHESTRATOR_CONCURRENCY', 64),
    engineLeaseMs: envNumber(env, 'ORCHESTRATOR_ENGINE_LEASE_MS', 60_000),
    mqttUrl: env.ORCHESTRATOR_MQTT_URL || undefined,
    webhookSecret: env.ORCHESTRATOR_WEBHOOK_SECRET || undefined,
    webhookReplayWindowSeconds: envNumber(env, 'ORCHESTRATOR_WEBHOOK_REPLAY_WINDOW', 86_400),
    webhookRateLimitPerMinute: envNumber(env, 'ORCHESTRATOR_WEBHOOK_RATE_LIMIT', 120),
    authRateLimitPerMinute: envNumber(env, 'ORCHESTRATOR_AUTH_RATE_LIMIT', 30),
    smtpUrl: env.ORCHESTRATOR_SMTP_URL || undefined,
    smtpUser: env.ORCHESTRATOR_SMTP_USER || undefined,
    smtpPassword: env.ORCHESTRATOR_SMTP_PASSWORD || undefined,
    smtpSecurity: env.ORCHESTRATOR_SMTP_SECURITY || undefined,
    smtpCaFile: env.ORCHESTRATOR_SMTP_CA || undefined,
    smtpFrom: env.ORCHESTRATOR_SMTP_FROM || undefined,
    deviceAuthRateLimitPerMinute: envNumber(env, 'ORCHESTRATOR_DEVICE_AUTH_RATE_LIMIT', 300),
    trustedProxies: cidrs('ORCHESTRATOR_TRUSTED_PROXIES', list(env.ORCHESTRATOR_TRUSTED_PROXIES)),
    outboundDeny: cidrs('ORCHESTRATOR_OUTBOUND_DENY', outboundDenyEntries(env.ORCHESTRATOR_OUTBOUND_DENY)),
    fastPolls: !/^(0|false|no|off)$/i.test(env.ORCHESTRATOR_FAST_POLL ?? ''),
  };
  const merged: Config = { ...config, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)), dataDir };
  if (overrides.trustedProxies) cidrs('trustedProxies', overrides.trustedProxies);
  if (overrides.outboundDeny) cidrs('outboundDeny', overrides.outboundDeny);
  if (overrides.importMaxRowBytes !== undefined) positiveInteger('importMaxRowBytes', overrides.importMaxRowBytes);
  return merged;
}

export const sqliteFileFor = (config: Config) => path.join(config.dataDir, 'orchestrator.db');
