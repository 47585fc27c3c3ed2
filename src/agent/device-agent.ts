// Builds the real on-device agent from its configuration: state and partial downloads under DIR,
// delta downloads from the releases in its slots (chunk indexes cached in DIR/.chunks), the
// file/script/container handlers, health checks, the trusted key, readable or JSON logs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePublicKey } from '../core/index.js';
import { Agent } from './agent.js';
import { AgentClient } from './client.js';
import { ContainerHandler } from './handlers/container.handler.js';
import { FileHandler } from './handlers/file.handler.js';
import { ScriptHandler } from './handlers/script.handler.js';
import type { HandlerTable } from './handlers/handler.js';
import { HealthChecker } from './health.js';
import { ChunkCache } from './chunk-cache.js';
import { DeltaDownloader } from './delta-download.js';
import { transferReport } from './executors.js';
import { createAgentLog, type AgentLog } from './log.js';
import { FilePartialStore } from './partials.js';
import { FileStateStore, type AgentJob } from './state.js';

/** Everything `orchestrator agent` (pull mode) takes, from flags or a JSON config file. */
export interface DeviceAgentConfig {
  server: string;
  deviceId: string;
  token: string;
  dir: string;
  /** PEM file of the ed25519 key artifacts must be signed with. */
  trustedKeyFile?: string;
  scriptCommand?: string;
  rollbackCommand?: string;
  containerCommand?: string;
  allowServerCommands?: boolean;
  jsonLogs?: boolean;
  defaultPollSeconds?: number;
  healthDeadlineSeconds?: number;
  /** Delta downloads (default on): false fetches every artifact whole. */
  delta?: boolean;
  /** Smallest share of a new artifact that must be held locally to fetch a delta, 0..1 (default 0.1). */
  deltaMinReuse?: number;
  /** Byte ranges per request in a delta download (default 32). */
  deltaMaxRanges?: number;
  /** The device's hardware type, announced to the server (releases match artifacts against it). */
  deviceType?: string;
}

/** Reads a config file ({"server", "deviceId", "token", "dir", ...}); flags override it. */
export function readAgentConfigFile(file: string): Partial<DeviceAgentConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read agent config ${file}: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`agent config ${file} must be a JSON object`);
  return raw as Partial<DeviceAgentConfig>;
}

export function basicInventory(): Record<string, unknown> {
  let program: string | null = null;
  try {
    program = process.argv[1] ? fs.realpathSync(process.argv[1]) : null;
  } catch {
    // not a file (e.g. node -e)
  }
  return { hostname: os.hostname(), platform: process.platform, arch: process.arch, node: process.version, agent: 'update-orchestrator', program, memoryMb: Math.round(os.totalmem() / 2 ** 20) };
}

export function createDeviceAgent(config: DeviceAgentConfig, log: AgentLog = createAgentLog({ json: config.jsonLogs, context: { device: config.deviceId } })): Agent {
  const dir = path.resolve(config.dir);
  fs.mkdirSync(dir, { recursive: true });
  const trustedKey = config.trustedKeyFile ? parsePublicKey(fs.readFileSync(config.trustedKeyFile, 'utf8')) : null;
  const allow = config.allowServerCommands ?? false;
  const client = new AgentClient({ server: config.server, deviceId: config.deviceId, token: config.token });
  // Live download progress for the dashboard: best effort, at most every 5 s, never blocking.
  let lastProgress = 0;
  const onProgress = (job: AgentJob) => {
    const now = Date.now();
    if (now - lastProgress < 5000) return;
    lastProgress = now;
    client.report({ execution: { id: job.update.executionId, state: 'downloading', bytes: job.bytes, ...transferReport(job) } }).catch(() => {});
  };
  const handlersIn = (at: string): HandlerTable => ({
    file: new FileHandler(at),
    script: new ScriptHandler({ dir: at, command: config.scriptCommand, rollbackCommand: config.rollbackCommand, allowServerCommands: allow }),
    container: new ContainerHandler({ command: config.containerCommand, allowServerCommands: allow }),
  });
  return new Agent({
    client,
    onProgress,
    stateStore: new FileStateStore(path.join(dir, '.agent-state.json')),
    partials: new FilePartialStore(path.join(dir, '.partial')),
    handlers: handlersIn(dir),
    // Each component of a multi-component release keeps its own slots (names checked by the executor).
    componentHandlers: (component) => handlersIn(path.join(dir, 'components', component)),
    health: new HealthChecker({ allowServerCommands: allow, defaultDeadlineSeconds: config.healthDeadlineSeconds }),
    trustedKey,
    log,
    inventory: basicInventory,
    deviceType: config.deviceType,
    defaultPollSeconds: config.defaultPollSeconds,
    delta: config.delta === false ? null : new DeltaDownloader({ dir, cache: new ChunkCache(path.join(dir, '.chunks')), minReuse: config.deltaMinReuse, maxRangesPerRequest: config.deltaMaxRanges }),
  });
}
