// `orchestrator agent`: the on-device agent. Pull mode polls the server (--server --device --token
// --dir, or --config FILE, or --enrollment-key to enroll first); --listen PORT runs the HTTP push
// receiver instead.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { abortableSleep, type Agent, AgentClient, createAgentLog, createDeviceAgent, readAgentConfigFile, type DeviceAgentConfig } from '../../agent/index.js';
import { startReceiver } from '../../agent/receiver.js';
import { MqttWakeupSubscriber } from '../../protocols/mqtt/wakeup.js';
import { CliError } from '../client.js';

interface AgentFlags {
  server?: string;
  device?: string;
  token?: string;
  dir?: string;
  trustedKey?: string;
  config?: string;
  listen?: string;
  host?: string;
  enrollmentKey?: string;
  jsonLogs?: boolean;
  mqtt?: string;
  allowServerCommands?: boolean;
  scriptCommand?: string;
  rollbackCommand?: string;
  containerCommand?: string;
  once?: boolean;
  selfName?: string;
  deviceType?: string;
  delta?: boolean;
  deltaMinReuse?: number;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new CliError(`--delta-min-reuse takes a fraction from 0 to 1 (got '${value}')`, 2);
  return n;
}

async function runReceiver(flags: AgentFlags): Promise<void> {
  const port = Number.parseInt(flags.listen!, 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--listen must be a port number (got '${flags.listen}')`, 2);
  if (!flags.dir) throw new CliError('--dir DIR is required: where artifacts are installed', 2);
  const trustedKey = flags.trustedKey ? fs.readFileSync(flags.trustedKey, 'utf8') : undefined;
  const host = flags.host ?? '0.0.0.0';
  const token = process.env.ORCHESTRATOR_RECEIVER_TOKEN || undefined;
  const log = createAgentLog({ json: flags.jsonLogs });
  // Each push is one log line: update id, artifact, sha256, result, status, bytes, duration.
  const running = await startReceiver({ port, host, dir: path.resolve(flags.dir), trustedKey, deviceId: flags.device, token, log, deltas: flags.delta !== false, deltaMinReuse: flags.deltaMinReuse });
  log.info('push receiver listening', { url: running.url, host, dir: path.resolve(flags.dir), trustedKey: flags.trustedKey ?? 'none', deltas: flags.delta !== false });
  // The receiver listens on every interface by default (the server must reach it): say what that opens.
  if (!token) log.warn('insecure: no ORCHESTRATOR_RECEIVER_TOKEN, so anyone who can reach this port may push', { host, hint: 'set ORCHESTRATOR_RECEIVER_TOKEN here and metadata.auth.bearerToken on the device in the orchestrator' });
  if (!trustedKey) log.warn('insecure: no --trusted-key, so unsigned artifacts are installed', { hint: 'pass --trusted-key PUBKEY_FILE (orchestrator keys generate)' });
  await new Promise<void>((resolve) => {
    const stop = () => void running.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** Merges the config file and flags; enrolls with --enrollment-key when there is no token yet. */
async function pullConfig(flags: AgentFlags): Promise<DeviceAgentConfig> {
  const file = flags.config ? readAgentConfigFile(flags.config) : {};
  const merged: Partial<DeviceAgentConfig> = {
    ...file,
    ...Object.fromEntries(
      Object.entries({
        server: flags.server ?? process.env.ORCHESTRATOR_URL,
        deviceId: flags.device,
        token: flags.token ?? process.env.ORCHESTRATOR_DEVICE_TOKEN,
        dir: flags.dir,
        trustedKeyFile: flags.trustedKey,
        jsonLogs: flags.jsonLogs,
        allowServerCommands: flags.allowServerCommands,
        scriptCommand: flags.scriptCommand,
        rollbackCommand: flags.rollbackCommand,
        containerCommand: flags.containerCommand,
        // Only the negation is a flag: a config file's "delta": false stays unless --no-delta says it too.
        delta: flags.delta === false ? false : undefined,
        deltaMinReuse: flags.deltaMinReuse,
        deviceType: flags.deviceType,
      }).filter(([, v]) => v !== undefined),
    ),
  };
  const missing = (['server', 'deviceId', 'dir'] as const).filter((k) => !merged[k]);
  if (missing.length) throw new CliError(`missing ${missing.map((k) => (k === 'deviceId' ? '--device' : `--${k}`)).join(', ')} (or put them in --config FILE)`, 2);
  if (!merged.token) {
    const tokenFile = path.join(path.resolve(merged.dir!), '.agent-token');
    if (fs.existsSync(tokenFile)) merged.token = fs.readFileSync(tokenFile, 'utf8').trim();
    else if (flags.enrollmentKey) {
      const enrolled = await AgentClient.enroll(merged.server!, { enrollmentKey: flags.enrollmentKey, id: merged.deviceId! });
      fs.mkdirSync(path.resolve(merged.dir!), { recursive: true });
      fs.writeFileSync(tokenFile, enrolled.token + '\n', { mode: 0o600 });
      merged.token = enrolled.token;
      process.stderr.write(`enrolled as ${enrolled.deviceId} (${enrolled.enrollment}); token saved to ${tokenFile}\n`);
    } else throw new CliError('missing --token T (or ORCHESTRATOR_DEVICE_TOKEN, or --enrollment-key K to enroll)', 2);
  }
  return merged as DeviceAgentConfig;
}

/**
 * Self-update: rounds until a new release of the agent itself (artifact `selfName`) is installed
 * and reported, then exit 0 so the supervisor (systemd Restart=always) starts DIR/current.
 */
async function runUntilSelfUpdated(agent: Agent, selfName: string, dir: string, signal: AbortSignal): Promise<void> {
  const startedWith = agent.current.current?.executionId ?? null;
  const updatedItself = () => {
    const { current, job, outbox } = agent.current;
    return current?.name === selfName && current.executionId !== startedWith && !job && outbox.length === 0;
  };
  while (!signal.aborted) {
    const delay = await agent.round();
    if (updatedItself()) {
      process.stderr.write(`updated myself to ${selfName} ${agent.current.current!.version}; exiting so the new version starts from ${path.join(dir, 'current')}\n`);
      process.exit(0);
    }
    await abortableSleep(delay, signal);
  }
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('run the device agent: poll the server and apply updates (pull), or --listen PORT for HTTP push')
    .option('--server <url>', 'orchestrator URL (env ORCHESTRATOR_URL)')
    .option('--device <id>', 'this device\'s id')
    .option('--token <token>', 'this device\'s token (env ORCHESTRATOR_DEVICE_TOKEN)')
    .option('--dir <dir>', 'install directory: slots, DIR/current, state')
    .option('--trusted-key <file>', 'PEM ed25519 public key; only artifacts it signed are installed')
    .option('--config <file>', 'JSON file with server, deviceId, token, dir, trustedKeyFile, scriptCommand, ...')
    .option('--enrollment-key <key>', 'enroll with this fleet key when there is no token yet (saved in DIR/.agent-token)')
    .option('--listen <port>', 'run the HTTP push receiver on this port instead of polling')
    .option('--host <address>', 'with --listen: the address to listen on (default 0.0.0.0, every interface, since the server must reach the receiver; 127.0.0.1 behind a local TLS proxy)')
    .option('--script-command <cmd>', 'install command for the script handler ({file} or $ARTIFACT_FILE is the artifact)')
    .option('--rollback-command <cmd>', 'command the script handler runs to roll back')
    .option('--container-command <tpl>', 'container update template with {image} and {name}')
    .option('--allow-server-commands', 'accept install commands and command health checks sent by the server')
    .option('--json-logs', 'log JSON lines instead of readable lines')
    .option('--once', 'run one poll-and-apply round, then exit (0 when nothing failed)')
    .option('--device-type <type>', 'this device\'s hardware type (e.g. rpi4), sent to the server: releases pick the artifact whose match fits it')
    .option('--self-name <artifact>', 'artifacts of this name update the agent itself: after installing one, exit 0 so the supervisor (systemd Restart=always) starts the new version from DIR/current')
    .option('--no-delta', 'always download artifacts whole (by default, with an earlier release in the other slot, only the chunks it lacks are fetched; with --listen, pushes are taken whole only)')
    .option('--delta-min-reuse <fraction>', 'fetch a delta only when at least this share of the new artifact is already held here (default 0.1)', fraction)
    .option('--mqtt <url>', 'MQTT broker to get wake-ups from (devices/ID/wakeup): poll at once when the target changes (env ORCHESTRATOR_MQTT_URL)')
    .action(async (flags: AgentFlags) => {
      if (flags.listen !== undefined) return runReceiver(flags);
      const config = await pullConfig(flags);
      const agent = createDeviceAgent(config);
      await agent.init();
      if (flags.once) {
        await agent.round();
        process.exitCode = agent.stats.pollErrors + agent.stats.applyErrors > 0 ? 1 : 0;
        return;
      }
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      // Wake-ups only shorten the wait; polling stays the source of truth.
      const mqttUrl = flags.mqtt ?? process.env.ORCHESTRATOR_MQTT_URL;
      const wakeups = mqttUrl ? new MqttWakeupSubscriber(mqttUrl, config.deviceId, () => agent.pollNow(), { warn: (_o, message) => console.error(`wake-up: ${message}`) }) : null;
      void wakeups?.ready().then(() => console.error(`wake-up: subscribed to devices/${config.deviceId}/wakeup`));
      if (flags.selfName) await runUntilSelfUpdated(agent, flags.selfName, config.dir, controller.signal);
      else await agent.run(controller.signal);
      await wakeups?.close();
    });
}
