// The composition root: the one place that constructs the store, services, engine and server
// and wires them together. Nothing else constructs these.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { artifactRoutes, Authenticator, AuthFailureLimiter, authFailureLimits, type Binding, bindServer, buildServer, deviceApiRoutes, devicePollFastRoute, deviceRoutes, enrollmentRoutes, eventRoutes, executionRoutes, type FastRoutes, groupRoutes, healthRoutes, Metrics, policyRoutes, rateLimitRoutes, releaseRoutes, requestIds, rolloutRoutes, type RouteModule, subscriptionRoutes, tokenRoutes, trustOf, webhookRoutes, webRoutes, type WsDeps, wsRoutes } from './api/index.js';
import { COMMIT_GRACE_MS, EventFeed, openChannel, syncCaches, TokenRevocations } from './cluster/index.js';
import { ddiPollFastRoute, hawkbitRoutes, HawkbitService, inspectBundle, MenderAuthService, MenderDeploymentService, menderRoutes, MqttWakeupPublisher, protocolAdminRoutes } from './protocols/index.js';
import { ReleaseService } from './releases/index.js';
import { ArtifactService, BlobStore } from './artifacts/index.js';
import { sqliteFileFor, type Config } from './config.js';
import { insecureSettings } from './config-warnings.js';
import { CidrList, systemClock, type Clock } from './core/index.js';
import { closeTransports, createTransports } from './delivery/index.js';
import type { DeviceSync } from './engine/device-sync.js';
import { createEngine, type EngineParts } from './engine/index.js';
import { BandwidthLimiter, DecommissionService, DownloadSigner, EnrollmentService, PresenceService, TargetCache } from './pull/index.js';
import { DeviceBulkService, DeviceService, DeviceVersions, GroupService } from './registry/index.js';
import { TokenService } from './tokens/index.js';
import { describeSmtp, Notifier, SmtpMailer, smtpSettings, SubscriptionService, type NotifierOptions } from './notify/index.js';
import { PolicyService, ReplayGuard, type RolloutCreator } from './policies/index.js';
import { OutboundGuard } from './outbound/index.js';
import { openSecretsKey } from './secrets/index.js';
import { EventLog, openStore, SecretsKeyError, type Store } from './store/index.js';
import { VERSION } from './version.js';

export interface AppOptions {
  clock?: Clock;
  /** A pino logger, or false for silence (tests). */
  logger?: Logger | false;
  /** The engine's device-sync service (pull devices); without one no device has a target. */
  deviceSync?: DeviceSync;
  /** The outbound deny list's guard (tests give one with a scripted resolver); default from config.outboundDeny. */
  outbound?: OutboundGuard;
  /** Retry tuning of outbound notifications (tests use short delays). */
  notifyOptions?: Partial<Pick<NotifierOptions, 'baseDelayMs' | 'maxDelayMs' | 'maxAttempts' | 'timeoutMs' | 'refreshMs'>>;
  /** Batching of the live event stream (tests decide when a batch goes out). */
  ws?: Pick<WsDeps, 'limits' | 'scheduleFlush'>;
}

export interface App {
  config: Config;
  clock: Clock;
  store: Store;
  events: EventLog;
  devices: DeviceService;
  artifacts: ArtifactService;
  auth: Authenticator;
  /** Operator tokens (created and revoked with their events). */
  tokens: TokenService;
  metrics: Metrics;
  server: FastifyInstance;
  logger: Logger;
  enrollment: EnrollmentService;
  presence: PresenceService;
  targets: TargetCache;
  /** The poll fast paths in front of the framework: on/off (tests compare both) and how many they answered. */
  fastRoutes: FastRoutes;
  /** Starts listening; answers the base URL. */
  listen(): Promise<string>;
  /** Every URL the server listens on (after listen): 127.0.0.1 and [::1] by default. */
  readonly urls: string[];
  close(): Promise<void>;
}

/** The server's logger (pino JSON on stdout, or `destination`), secrets redacted by name. */
export function createLogger(level: string, destination?: { write(line: string): void }): Logger {
  const options = {
    level,
    // Device credentials never reach a log line: metadata.auth values wherever a device or patch is logged.
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.token', '*.secret', '*.password', '*.privateKey', '*.passphrase', '*.bearerToken', 'metadata.auth.*', '*.metadata.auth.*', '*.*.metadata.auth.*'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** PEM public keys from ORCHESTRATOR_TRUSTED_KEYS files; a missing file stops the start with its name. */
function readTrustedKeys(files: string[]): string[] {
  return files.map((file) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`ORCHESTRATOR_TRUSTED_KEYS: cannot read '${file}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  });
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger === false ? pino({ level: 'silent' }) : (options.logger ?? createLogger(config.logLevel));
  fs.mkdirSync(config.dataDir, { recursive: true });
  const tmpDir = path.join(config.dataDir, 'tmp');
  fs.mkdirSync(tmpDir, { recursive: true });

  let ready = false;
  // Device credentials are sealed under the secrets key; the database is bound to one key.
  const secretsKey = openSecretsKey(config.secretsKeyFile);
  const store = await openStore({ url: config.databaseUrl, sqliteFile: sqliteFileFor(config), secrets: secretsKey.box, backgroundCheckpoint: true });
  try {
    await store.deviceSecrets.bind(clock.now(), {
      sealed: (devices) => logger.info({ devices }, 'device credentials moved out of metadata into device_secrets, encrypted'),
      // Harmless only while no other server runs with the old key: it could not open what this one seals.
      rebound: (from) => logger.warn({ from, to: secretsKey.box.keyId, file: secretsKey.file }, 'the database was bound to another secrets key, which sealed no credential; it is bound to this server\'s key now: give every server of this database this key file'),
    });
  } catch (error) {
    await store.close();
    if (!(error instanceof SecretsKeyError)) throw error;
    // A key made just now is not the one wanted: leave no file that would be mistaken for it.
    if (secretsKey.created) fs.rmSync(secretsKey.file, { force: true });
    throw new SecretsKeyError(`${secretsKey.created ? `there was no secrets key file at ${secretsKey.file}` : `the secrets key file ${secretsKey.file} holds another key`}: ${error.message}`);
  }
  if (secretsKey.created) logger.info({ file: secretsKey.file }, 'created the secrets key that encrypts device credentials: back it up apart from the database (docs/operations.md#backups)');
  if (secretsKey.readableByOthers) logger.warn({ file: secretsKey.file }, 'the secrets key file is readable by group or others: chmod 600 it');
  ready = true;
  const events = new EventLog(store.events, clock);
  const devices = new DeviceService(store, events, clock, { tmpDir, maxRowBytes: config.importMaxRowBytes });
  const groups = new GroupService(store, events, clock, () => devices.invalidate());
  // The one writer of "this device now runs version X" (push results, pull reports, hawkBit, Mender).
  const versions = new DeviceVersions(store, clock);
  // Device tokens stay cached longer than a poll interval; their revocations reach every server (below).
  // Room for every token of a fleet of two million devices, so a large fleet's polls stay query-free.
  const auth = new Authenticator(store.tokens, clock, { deviceTtlMs: 10 * 60_000, maxEntries: 2_000_000 });
  // Operator tokens: created and revoked with their events through the event log (the live feed sees them).
  const tokens = new TokenService({ store, events, clock, revoked: () => auth.invalidate() });
  const artifacts = new ArtifactService({
    artifacts: store.artifacts,
    blobs: new BlobStore(path.join(config.dataDir, 'artifacts')),
    events,
    clock,
    maxBytes: config.artifactMaxBytes,
    requireSigned: config.requireSignedArtifacts,
    trustedKeys: readTrustedKeys(config.trustedKeyFiles),
    // Deleting an artifact a live rollout delivers, or a release lists, is refused (409).
    isInUse: async (artifactId) => (await store.rollouts.isArtifactInUse(artifactId)) || (await store.releases.containsArtifact(artifactId)),
    // .swu and .mender bundles: version, artifact name, device types for the protocol adapters.
    inspect: inspectBundle,
  });
  const releases = new ReleaseService(store, events, clock);
  const metrics = new Metrics();
  metrics.addGroupedGauge('orchestrator_devices', 'Devices by status', 'status', () => store.stats.countBy({ table: 'devices', column: 'status' }));
  events.subscribe((records) => metrics.observeEvents(records));
  // The one channel between the servers sharing the store: target changes, "look" for new events
  // and the cache invalidations they carry (src/cluster). Listening from here on.
  const channel = openChannel(store, logger);
  await channel.start();
  const feed = new EventFeed(events, store, channel, logger);
  feed.subscribe((records) => metrics.observeFeed(records));
  await feed.start();
  metrics.addGroupedGauge('orchestrator_executions', 'Rollout executions by state', 'state', () => store.stats.countBy({ table: 'executions', column: 'state' }));
  metrics.addGroupedGauge('orchestrator_rollouts', 'Rollouts by status', 'status', () => store.stats.countBy({ table: 'rollouts', column: 'status' }));
  // The rollout engine: push transports by device mode, batched durable executions, pull-device sync.
  // Every connection the server opens on someone's say-so is checked against the deny list.
  const outbound = options.outbound ?? OutboundGuard.fromEntries(config.outboundDeny);
  const transports = createTransports(config, outbound);
  const engine: EngineParts = createEngine({
    store,
    channel,
    events,
    versions,
    clock,
    transports: new Map(Object.entries(transports)),
    artifactFile: (artifact) => artifacts.filePath(artifact),
    artifactIndexFile: (artifact) => artifacts.indexPath(artifact),
    logger,
    concurrency: config.engineConcurrency,
    leaseMs: config.engineLeaseMs,
  });
  metrics.addEngineGauges(engine.engine);
  // Registry webhook policies (seed 004) and outbound notifications.
  const createRollout: RolloutCreator | undefined = (input, actor) => engine.rollouts.create(input, actor);
  const policies = new PolicyService({ policies: store.policies, events, clock, artifacts, createRollout, groups: store.groups });
  const replayGuard = new ReplayGuard(store.webhookReceipts, config.webhookReplayWindowSeconds * 1000);
  const subscriptionRepository = store.subscriptions;
  // Email subscriptions go through one SMTP server for the whole installation (ORCHESTRATOR_SMTP_*).
  const smtp = smtpSettings(config);
  const mailer = smtp ? new SmtpMailer(smtp, options.notifyOptions?.timeoutMs) : undefined;
  if (smtp) logger.info({ smtp: describeSmtp(smtp) }, 'email notifications enabled');
  const notifier = new Notifier({
    subscriptions: subscriptionRepository,
    events: store.events,
    feed,
    locks: store.locks,
    commitGraceMs: channel.reachesOtherServers ? COMMIT_GRACE_MS : 0,
    clock,
    logger,
    count: (result) => metrics.notifications.inc({ result }),
    outbound,
    userAgent: `update-orchestrator/${VERSION}`,
    rolloutName: async (id) => (await store.rollouts.get(id))?.name || null,
    mailer,
    dashboardUrl: config.publicUrl,
    ...options.notifyOptions,
  });
  await notifier.start();
  const subscriptions = new SubscriptionService({ subscriptions: subscriptionRepository, outbound, events, lastEventId: () => store.events.lastId(), clock, onChange: () => notifier.refresh(), emailConfigured: smtp !== null });

  // Pull devices: identity, presence (batched heartbeats, offline sweep) and the cached target state.
  const deviceSync: DeviceSync = options.deviceSync ?? engine.deviceSync;
  const targets = new TargetCache({
    sync: deviceSync,
    enrollmentOf: (id) => store.enrollment.enrollmentOf(id),
    downloadUrl: (_deviceId, artifact) => `/api/v1/device/artifacts/${encodeURIComponent(artifact.id)}`,
    pollIntervalSeconds: config.pollIntervalSeconds,
    maxEntries: 2_000_000,
  });
  const presence = new PresenceService({
    store,
    events,
    clock,
    pollIntervalSeconds: config.pollIntervalSeconds,
    offlineAfterMissedPolls: config.offlineAfterMissedPolls,
    onSeen: (ids) => deviceSync.deviceSeen(ids),
    onError: (error) => logger.error({ err: error }, 'device presence bookkeeping failed'),
  });
  presence.start();
  // Device-token revocations travel on their own topic (every server drops the device's cached
  // tokens) and enrollment decisions as target changes (its target state), see the cache sync below.
  const tokenRevocations = new TokenRevocations(channel);
  const enrollment = new EnrollmentService({
    store,
    events,
    clock,
    invalidateTokens: (ids) => tokenRevocations.revoked(ids),
    // This server's cache at once, also when the device API's sync is not the engine's (tests).
    targetChanged: (ids) => (targets.invalidate(ids), engine.targetChanges.changed(ids)),
  });
  const decommission = new DecommissionService({
    store,
    transitions: engine.transitions,
    targetChanges: engine.targetChanges,
    tokenRevocations,
    clock,
    registryChanged: () => devices.invalidate(),
    executionsEnded: (id) => (engine.engine.abortDeliveriesTo(id), engine.engine.wake()),
  });
  const signer = DownloadSigner.fromDataDir(config.dataDir);
  // Per server and in process: with several servers each paces what it serves.
  const bandwidth = new BandwidthLimiter(clock, async (rolloutId) => store.rollouts.find(rolloutId));
  // Device protocol adapters (hawkBit DDI, Mender) over the same devices, executions and engine.
  const seen = (id: string) => presence.seenNow(id);
  const hawkbit = new HawkbitService({ store, sync: deviceSync, artifacts, devices, versions, events, clock, tokens: auth, seen, pollIntervalSeconds: config.pollIntervalSeconds, deviceTypeAttributes: config.hawkbitDeviceTypeAttributes });
  // Every server's caches follow what any server changed: target states, tokens and hawkBit
  // controllers (a device's tenant), over the channel and the feed it carries.
  const stopCacheSync = syncCaches({
    feed,
    tokenRevocations,
    onReset: (listener) => engine.targetChanges.onReset(listener),
    targets: { invalidate: (ids) => (targets.invalidate(ids), hawkbit.forget(ids)), clear: () => targets.clear() },
    auth,
  });
  const menderAuth = new MenderAuthService({ store, devices, events, clock });
  const menderDeployments = new MenderDeploymentService({ store, sync: deviceSync, versions, events, clock, signer, seen });
  // Wake-up over MQTT: a hint to poll now; polling stays the source of truth.
  const wakeup = config.mqttUrl ? new MqttWakeupPublisher(config.mqttUrl, logger) : null;
  const stopWakeup = wakeup ? deviceSync.onTargetChanged((ids) => wakeup.publish(ids)) : () => undefined;

  // Failed authentications per client address, per route family (src/api/rate-limits.ts).
  const limiter = new AuthFailureLimiter(authFailureLimits(config.authRateLimitPerMinute, config.deviceAuthRateLimitPerMinute), () => clock.now());
  const trustedProxies = CidrList.parse(config.trustedProxies);
  // Polls whose answer is an unchanged, cached target: 304 before the framework (src/api/fast-routes.ts),
  // with the framework's checks: the same limiter, the same rule for the client's address, one id sequence.
  const trust = trustOf(trustedProxies);
  const requestId = requestIds();
  const fastRoutes: FastRoutes = {
    enabled: config.fastPolls,
    answered: 0,
    routes: [
      devicePollFastRoute({ auth, targets, presence, limiter, trust, requestId, notModified: () => metrics.polls.native.notModified.inc(), clock }),
      ddiPollFastRoute({ hawkbit, publicUrl: config.publicUrl, trust, limiter, requestId, seen, notModified: () => metrics.polls.hawkbit.notModified.inc(), clock }),
    ],
  };
  const routes: RouteModule[] = [
    (app) => rateLimitRoutes(app, { '/api/v1/webhooks/': config.webhookRateLimitPerMinute }),
    (app) => healthRoutes(app, { store, ready: () => ready }),
    (app) => metrics.routes(app),
    (app) => wsRoutes(app, { auth, feed, store, metrics, logger, limiter, trustedProxies, ...options.ws }),
    (app) => webhookRoutes(app, { policies, guard: replayGuard, events, metrics, clock, secret: config.webhookSecret }),
    (app) => policyRoutes(app, { policies }),
    (app) => subscriptionRoutes(app, { subscriptions }),
    (app) => webRoutes(app, { stats: store.stats, reports: store.deviceReports }),
    (app) => tokenRoutes(app, { tokens }),
    (app) => rolloutRoutes(app, { rollouts: engine.rollouts, store }),
    (app) => executionRoutes(app, { rollouts: engine.rollouts, store }),
    (app) => eventRoutes(app, { store }),
    (app) => deviceRoutes(app, { devices, bulk: new DeviceBulkService(store, events, clock, { decommission, changed: () => devices.invalidate() }), decommission }),
    (app) => groupRoutes(app, { groups }),
    (app) => artifactRoutes(app, { artifacts, maxBytes: config.artifactMaxBytes }),
    (app) => releaseRoutes(app, { releases }),
    (app) => enrollmentRoutes(app, { enrollment }),
    (app) => deviceApiRoutes(app, { sync: deviceSync, targets, presence, artifacts, signer, auth, clock, bandwidth, countServed: (rolloutId, bytes, kind) => metrics.countServed(rolloutId, bytes, kind) }),
    (app) => hawkbitRoutes(app, { hawkbit, artifacts, publicUrl: config.publicUrl, trust }),
    (app) => menderRoutes(app, { auth: menderAuth, deployments: menderDeployments, publicUrl: config.publicUrl }),
    (app) => protocolAdminRoutes(app, { menderAuth, hawkbit: store.hawkbit, clock }),
  ];
  const server = await buildServer({ auth, bodyLimit: config.bodyLimit, logger, routes, version: VERSION, limiter, trustedProxies, fastRoutes, requestId });

  // Artifacts stored before chunk indexes existed get one (unsigned) in the background, in batches.
  const indexing = new AbortController();
  const indexMissing = async () => {
    try {
      const done = await artifacts.indexMissing(indexing.signal);
      if (done > 0) logger.info({ artifacts: done }, 'computed the chunk index of artifacts stored without one');
    } catch (error) {
      if (!indexing.signal.aborted) logger.warn({ err: error }, 'could not compute the chunk index of older artifacts; they are delivered whole');
    }
  };
  let indexed: Promise<void> = Promise.resolve();

  let closed = false;
  let binding: Binding | null = null;
  return {
    config,
    clock,
    store,
    events,
    devices,
    artifacts,
    auth,
    tokens,
    metrics,
    server,
    logger,
    enrollment,
    presence,
    targets,
    get urls() {
      return binding?.urls ?? [];
    },
    fastRoutes,
    async listen() {
      binding = await bindServer(server, config.host, config.port);
      for (const note of binding.notes) logger.warn(note);
      // Every insecure opt-in in force, once per start (docs/security.md lists them all).
      for (const { setting, message } of insecureSettings(config)) logger.warn({ setting }, `insecure setting: ${message}`);
      if (!config.webhookSecret) logger.info({ setting: 'ORCHESTRATOR_WEBHOOK_SECRET' }, 'registry webhooks are refused until ORCHESTRATOR_WEBHOOK_SECRET is set');
      engine.engine.start();
      indexed = indexMissing();
      return binding.urls[0]!;
    },
    async close() {
      if (closed) return;
      closed = true;
      indexing.abort();
      await indexed;
      await engine.engine.stop();
      await closeTransports(transports);
      await binding?.close();
      await server.close();
      stopWakeup();
      await wakeup?.close();
      await presence.stop();
      targets.close();
      stopCacheSync();
      await feed.stop();
      await notifier.stop();
      await channel.stop();
      mailer?.close();
      await store.close();
    },
  };
}
