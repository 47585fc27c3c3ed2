// The composition root: the one place that constructs the store, services, engine and server
// and wires them together. Nothing else constructs these.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { Authenticator } from './api/auth.js';
import { deviceRoutes } from './api/device.routes.js';
import { healthRoutes } from './api/health.routes.js';
import { EventFeed } from './api/event-feed.js';
import { groupedCount, Metrics } from './api/metrics.js';
import { buildServer, type RouteModule } from './api/server.js';
import { tokenRoutes } from './api/token.routes.js';
import { wsRoutes } from './api/ws.js';
import { sqliteFileFor, type Config } from './config.js';
import { systemClock, type Clock } from './core/index.js';
import { DeviceService } from './registry/index.js';
import { EventLog, openStore, type Store } from './store/index.js';
import { VERSION } from './version.js';

export interface AppOptions {
  clock?: Clock;
  /** A pino logger, or false for silence (tests). */
  logger?: Logger | false;
}

export interface App {
  config: Config;
  clock: Clock;
  store: Store;
  events: EventLog;
  devices: DeviceService;
  auth: Authenticator;
  metrics: Metrics;
  server: FastifyInstance;
  logger: Logger;
  /** Starts listening; answers the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.token', '*.secret', '*.password', '*.privateKey'], censor: '[redacted]' },
  });
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger === false ? pino({ level: 'silent' }) : (options.logger ?? createLogger(config.logLevel));
  fs.mkdirSync(config.dataDir, { recursive: true });
  const tmpDir = path.join(config.dataDir, 'tmp');
  fs.mkdirSync(tmpDir, { recursive: true });

  let ready = false;
  const store = await openStore({ url: config.databaseUrl, sqliteFile: sqliteFileFor(config) });
  ready = true;
  const events = new EventLog(store.events, clock);
  const devices = new DeviceService(store, events, clock);
  const auth = new Authenticator(store.tokens, clock);
  const metrics = new Metrics();
  metrics.addGroupedGauge('orchestrator_devices', 'Devices by status', 'status', groupedCount(store.handle.db, 'devices', 'status'));
  events.subscribe((records) => metrics.eventsPublished.inc(records.length));
  const feed = new EventFeed(events, store, logger);
  await feed.start();

  const routes: RouteModule[] = [
    (app) => healthRoutes(app, { store, ready: () => ready }),
    (app) => metrics.routes(app),
    (app) => wsRoutes(app, { auth, feed, store, metrics, logger }),
    (app) => tokenRoutes(app, { store, clock, auth }),
    (app) => deviceRoutes(app, { devices, store, clock, tmpDir }),
  ];
  const server = await buildServer({ auth, bodyLimit: config.bodyLimit, logger, routes, version: VERSION });

  let closed = false;
  return {
    config,
    clock,
    store,
    events,
    devices,
    auth,
    metrics,
    server,
    logger,
    async listen() {
      const address = await server.listen({ host: config.host, port: config.port });
      return address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
    },
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await feed.stop();
      await store.close();
    },
  };
}
