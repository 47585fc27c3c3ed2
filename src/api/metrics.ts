// Prometheus metrics: one `Metrics` object created in the composition root (src/app.ts) and handed
// to whoever counts something (delivery, device API, webhooks, WebSocket). Gauges that live in the
// database (devices by status, executions by state) are computed at scrape time from a cheap
// grouped count, cached for a few seconds so a busy scraper cannot load the database.
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventRecord } from '../core/index.js';

/** Routes of the device API counted here so the device capability needs no metrics code. */
const POLL_ROUTES: Record<string, PollProtocol> = { '/api/v1/device/:id/state': 'native', '/:tenant/controller/v1/:controllerId': 'hawkbit' };
const DOWNLOAD_ROUTE = '/api/v1/device/artifacts/:artifactId';

/** Rollouts whose byte counters are kept (per-rollout series are dropped beyond this, least recent first). */
export const MAX_ROLLOUT_SERIES = 200;
/** The poll protocols counted: the native device API and the hawkBit DDI base poll. */
export type PollProtocol = 'native' | 'hawkbit';

/** One protocol's poll counters, bound to their labels (the poll path pays no label lookup). */
export interface PollCounters {
  notModified: { inc(): void };
  changed: { inc(): void };
  error: { inc(): void };
}

/** A grouped count read from the database: label value -> count. */
export type GroupedCount = () => Promise<Record<string, number>>;

/**
 * The counters other capabilities bump. Label values are small closed sets (never ids).
 * - deliveries: `transport` (push|pull), `result` (succeeded|failed), from execution events
 * - pollRequests: `protocol` (native|hawkbit), `result` (not_modified|changed|error)
 * - webhooks: `source` (dockerhub|ghcr|unknown), `result` (accepted|rejected|replay|ignored)
 * - rolloutBytesServed / deltaBytesSaved: by `rollout` id, the one exception, bounded: only the
 *   MAX_ROLLOUT_SERIES rollouts served most recently keep their series
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly deliveries: Counter<'transport' | 'result'>;
  readonly deliveryDuration: Histogram<'transport'>;
  readonly bytesSent: Counter<'transport'>;
  readonly pollRequests: Counter<'protocol' | 'result'>;
  readonly polls: Record<PollProtocol, PollCounters>;
  readonly webhooks: Counter<'source' | 'result'>;
  readonly notifications: Counter<'result'>;
  readonly rolloutBytesServed: Counter<'rollout' | 'kind'>;
  readonly deltaBytesSaved: Counter<'rollout'>;
  /** Rollout ids with series, least recently used first. */
  private readonly rolloutSeries = new Map<string, Set<string>>();
  readonly wsClients: Gauge;
  readonly wsGaps: Counter;
  readonly eventsPublished: Counter;
  readonly feedLag: Histogram;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // Default metrics include nodejs_eventloop_lag_seconds (and its percentiles), heap, GC, handles.
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    this.httpRequests = new Counter({ name: 'orchestrator_http_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({
      name: 'orchestrator_http_request_duration_seconds',
      help: 'HTTP request handling time',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.deliveries = new Counter({ name: 'orchestrator_deliveries_total', help: 'Artifact deliveries finished, by transport and result', labelNames: ['transport', 'result'], registers });
    this.deliveryDuration = new Histogram({
      name: 'orchestrator_delivery_duration_seconds',
      help: 'Time to deliver an artifact to one device',
      labelNames: ['transport'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    });
    this.bytesSent = new Counter({ name: 'orchestrator_bytes_sent_total', help: 'Artifact bytes sent to devices', labelNames: ['transport'], registers });
    this.pollRequests = new Counter({ name: 'orchestrator_poll_requests_total', help: 'Device target-state polls by protocol and answer; not_modified/total is the 304 ratio', labelNames: ['protocol', 'result'], registers });
    const pollsOf = (protocol: PollProtocol): PollCounters => ({
      notModified: this.pollRequests.labels(protocol, 'not_modified'),
      changed: this.pollRequests.labels(protocol, 'changed'),
      error: this.pollRequests.labels(protocol, 'error'),
    });
    this.polls = { native: pollsOf('native'), hawkbit: pollsOf('hawkbit') };
    this.webhooks = new Counter({ name: 'orchestrator_webhooks_total', help: 'Registry webhooks received, by source and result', labelNames: ['source', 'result'], registers });
    this.notifications = new Counter({ name: 'orchestrator_notifications_total', help: 'Outbound notification attempts, by result', labelNames: ['result'], registers });
    this.rolloutBytesServed = new Counter({
      name: 'orchestrator_rollout_bytes_served_total',
      help: 'Bytes sent to devices for a rollout: kind artifact (downloads and ranges, counted as written), index (chunk indexes), push (HTTP/SFTP pushes)',
      labelNames: ['rollout', 'kind'],
      registers,
    });
    this.deltaBytesSaved = new Counter({ name: 'orchestrator_delta_bytes_saved_total', help: 'Bytes devices did not fetch because they reused chunks of files they held (reported with succeeded executions)', labelNames: ['rollout'], registers });
    this.wsClients = new Gauge({ name: 'orchestrator_ws_clients', help: 'Open WebSocket connections', registers });
    this.wsGaps = new Counter({ name: 'orchestrator_ws_gaps_total', help: 'Times a slow WebSocket client was sent a gap notice instead of events', registers });
    this.eventsPublished = new Counter({ name: 'orchestrator_events_total', help: 'Events appended to the event log (seen by this server)', registers });
    this.feedLag = new Histogram({
      name: 'orchestrator_event_feed_lag_seconds',
      help: 'Age of the oldest event of each batch the live feed delivers (WebSocket, notifications, caches); other servers\' events included',
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }

  /** Observes one batch the live event feed delivered (EventFeed.subscribe). */
  observeFeed(records: EventRecord[], now = Date.now()): void {
    let oldest = Infinity;
    for (const r of records) oldest = Math.min(oldest, Date.parse(r.ts));
    if (Number.isFinite(oldest)) this.feedLag.observe(Math.max(0, now - oldest) / 1000);
  }

  /**
   * The engine loop's health, read at scrape time: seconds since its last finished round (the lag:
   * about its idle tick of 0.25 s while it keeps up, growing while a round is stuck), the last
   * round's duration, rounds run and deliveries in flight.
   */
  addEngineGauges(engine: { rounds: { count: number; lastEndedAt: number; lastMs: number }; inFlight: number }, now: () => number = Date.now): void {
    const registers = [this.registry];
    new Gauge({
      name: 'orchestrator_engine_lag_seconds',
      help: 'Seconds since the engine loop last finished a round (0 before its first)',
      registers,
      collect() {
        this.set(engine.rounds.lastEndedAt ? Math.max(0, now() - engine.rounds.lastEndedAt) / 1000 : 0);
      },
    });
    new Gauge({
      name: 'orchestrator_engine_round_seconds',
      help: "Duration of the engine loop's last round (claims, releases, periodic jobs)",
      registers,
      collect() {
        this.set(engine.rounds.lastMs / 1000);
      },
    });
    new Counter({
      name: 'orchestrator_engine_rounds_total',
      help: 'Rounds of the engine loop',
      registers,
      collect() {
        this.reset();
        this.inc(engine.rounds.count);
      },
    });
    new Gauge({
      name: 'orchestrator_engine_deliveries_in_flight',
      help: 'Push deliveries this server is running',
      registers,
      collect() {
        this.set(engine.inFlight);
      },
    });
  }

  /**
   * A gauge computed at scrape time from `count` (label value -> n), cached for `cacheMs`.
   * Label values that disappear are reported as 0 until the next restart, so rates stay sane.
   */
  addGroupedGauge(name: string, help: string, label: string, count: GroupedCount, cacheMs = 5000, now: () => number = Date.now): void {
    let cached: { at: number; values: Record<string, number> } | undefined;
    const seen = new Set<string>();
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      async collect() {
        if (!cached || now() - cached.at >= cacheMs) {
          try {
            cached = { at: now(), values: await count() };
          } catch {
            // An unreachable database shows as missing samples, not as a failed scrape.
            cached = { at: now(), values: {} };
          }
        }
        this.reset();
        for (const key of Object.keys(cached.values)) seen.add(key);
        for (const key of seen) this.set({ [label]: key }, cached.values[key] ?? 0);
      },
    });
  }

  /** Keeps the series of the MAX_ROLLOUT_SERIES most recently active rollouts; older ones are dropped. */
  private touchRollout(rollout: string, kind: string): void {
    const kinds = this.rolloutSeries.get(rollout) ?? new Set<string>();
    this.rolloutSeries.delete(rollout);
    this.rolloutSeries.set(rollout, kinds.add(kind));
    if (this.rolloutSeries.size <= MAX_ROLLOUT_SERIES) return;
    const [oldest, oldKinds] = this.rolloutSeries.entries().next().value!;
    this.rolloutSeries.delete(oldest);
    for (const k of oldKinds) {
      if (k === 'saved') this.deltaBytesSaved.remove({ rollout: oldest });
      else this.rolloutBytesServed.remove({ rollout: oldest, kind: k });
    }
  }

  /** Bytes written to a device for a rollout (the device API calls this as it writes; null: not for a rollout). */
  countServed(rolloutId: string | null, bytes: number, kind: 'artifact' | 'index' | 'push'): void {
    if (bytes <= 0) return;
    const rollout = rolloutId ?? 'none';
    this.touchRollout(rollout, kind);
    this.rolloutBytesServed.inc({ rollout, kind }, bytes);
  }

  private countSaved(rolloutId: string, bytes: number): void {
    if (bytes <= 0) return;
    this.touchRollout(rolloutId, 'saved');
    this.deltaBytesSaved.inc({ rollout: rolloutId }, bytes);
  }

  private readonly deliveryStarts = new Map<string, number>();

  /**
   * Derives delivery counters from execution transitions appended on this server: a delivery
   * starts at `delivering`/`downloading` and ends at `succeeded`/`failed`; the engine pushes
   * (actor "engine"), devices pull (actor "device:..."). Pushed bytes come from the transition;
   * pulled bytes are counted at the download route.
   */
  observeEvents(records: EventRecord[]): void {
    this.eventsPublished.inc(records.length);
    for (const e of records) {
      if (!e.type.startsWith('execution.') || !e.executionId) continue;
      const to = e.type.slice('execution.'.length);
      if (to === 'delivering' || to === 'downloading') {
        if (this.deliveryStarts.size >= 200_000) this.deliveryStarts.clear();
        this.deliveryStarts.set(e.executionId, Date.parse(e.ts));
        continue;
      }
      if (to !== 'succeeded' && to !== 'failed') continue;
      const transport = e.actor === 'engine' ? 'push' : 'pull';
      this.deliveries.inc({ transport, result: to });
      const started = this.deliveryStarts.get(e.executionId);
      if (started !== undefined) {
        this.deliveryDuration.observe({ transport }, Math.max(0, Date.parse(e.ts) - started) / 1000);
        this.deliveryStarts.delete(e.executionId);
      }
      const bytes = e.data.bytes;
      const fetched = typeof e.data.bytesFetched === 'number' ? e.data.bytesFetched : bytes;
      if (transport === 'push' && typeof fetched === 'number' && fetched > 0) {
        this.bytesSent.inc({ transport }, fetched);
        if (e.rolloutId) this.countServed(e.rolloutId, fetched, 'push');
      }
      if (to === 'succeeded' && e.rolloutId && typeof e.data.bytesReused === 'number') this.countSaved(e.rolloutId, e.data.bytesReused);
    }
  }

  /** GET /metrics, and the request counter/timer hooks for every route. */
  routes(app: FastifyInstance): void {
    // The device polls are the hottest routes: pre-bound children, no histogram (their fast
    // paths in front of the framework count their 304s into the same children).
    const pulled = this.bytesSent.labels('pull');
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const poll = POLL_ROUTES[route];
      if (poll) {
        const polls = this.polls[poll];
        (reply.statusCode === 304 ? polls.notModified : reply.statusCode === 200 ? polls.changed : polls.error).inc();
        return;
      }
      if (route === '/metrics') return;
      if (route === DOWNLOAD_ROUTE && (reply.statusCode === 200 || reply.statusCode === 206)) {
        const length = Number(reply.getHeader('content-length'));
        if (Number.isFinite(length)) pulled.inc(length);
      }
      this.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
      this.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
      // One structured line per request (the request id rides on request.log): refusals at info, the rest at debug.
      const line = { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
      if (reply.statusCode >= 400 && reply.statusCode < 500) request.log.info(line, 'request refused');
      else request.log.debug(line, 'request done');
    });
    app.get('/metrics', { config: { auth: 'public' }, schema: { tags: ['health'], summary: 'Prometheus metrics (text format)' } }, async (_request, reply) => {
      const body = await this.registry.metrics();
      return reply.type(this.registry.contentType).send(body);
    });
  }
}
