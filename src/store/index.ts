// The store: one SQL database (SQLite or PostgreSQL, via Kysely) behind narrow repositories split by capability, a unit of work, migrations and the event log; all SQL lives here.
// May import: core
import { SecretBox } from '../core/index.js';
import type { Kysely } from 'kysely';
import { openDatabase, type DatabaseHandle, type DialectName, type OpenOptions } from './database.js';
import { Notifications, notifyIn } from './notifications.js';
import { ArtifactRepository } from './artifact.repository.js';
import { DeviceReportRepository } from './device-report.repository.js';
import { DeviceRepository } from './device.repository.js';
import { DeviceBulkRepository } from './device-bulk.repository.js';
import { DeviceSecretRepository } from './device-secret.repository.js';
import { EnrollmentRepository } from './enrollment.repository.js';
import { EventRepository } from './event.repository.js';
import { GroupRepository } from './group.repository.js';
import { ExecutionCountRepository } from './execution-count.repository.js';
import { ExecutionRepository } from './execution.repository.js';
import { ExecutionViewRepository } from './execution-view.repository.js';
import { HawkbitRepository } from './hawkbit.repository.js';
import { LockRepository } from './lock.repository.js';
import { MenderRepository } from './mender.repository.js';
import { restoreDeferredIndexes } from './device-import.sqlite.js';
import { migrate } from './migrator.js';
import { ReleaseRepository } from './release.repository.js';
import { RolloutRepository } from './rollout.repository.js';
import { PolicyRepository } from './policy.repository.js';
import type { Database } from './schema.js';
import { StatsRepository } from './stats.repository.js';
import { SubscriptionRepository } from './subscription.repository.js';
import { TokenRepository } from './token.repository.js';
import { WebhookReceiptRepository } from './webhook-receipt.repository.js';

/** The repositories: every SQL statement of the server is one of their methods. */
export interface Repositories {
  devices: DeviceRepository;
  /** Bulk actions over a frozen selection of devices (run them in a unit of work). */
  deviceBulk: DeviceBulkRepository;
  /** Saved device groups (static and dynamic) and their live member counts. */
  groups: GroupRepository;
  /** Device credentials, sealed (also reached as devices.secrets, which every device write uses). */
  deviceSecrets: DeviceSecretRepository;
  tokens: TokenRepository;
  events: EventRepository;
  locks: LockRepository;
  artifacts: ArtifactRepository;
  enrollment: EnrollmentRepository;
  deviceReports: DeviceReportRepository;
  hawkbit: HawkbitRepository;
  mender: MenderRepository;
  rollouts: RolloutRepository;
  /** Releases: artifacts per component with their device matches (migration 0015). */
  releases: ReleaseRepository;
  executions: ExecutionRepository;
  /** Read models over executions for operators (summaries, device histories). */
  executionViews: ExecutionViewRepository;
  /** Executions counted by the database (migration 0018): folding its deltas into the totals. */
  executionCounts: ExecutionCountRepository;
  policies: PolicyRepository;
  subscriptions: SubscriptionRepository;
  webhookReceipts: WebhookReceiptRepository;
  /** Grouped counts for gauges and the dashboard, and the database's health. */
  stats: StatsRepository;
}

/**
 * A unit of work: the same repositories, bound to one open transaction. What they write commits
 * together when the work returns and rolls back together when it throws.
 */
export interface StoreTransaction extends Repositories {
  /**
   * NOTIFYs `channel` with `payload` when, and only when, this transaction commits (PostgreSQL;
   * on SQLite one server owns the file, nobody else listens, and it does nothing).
   */
  notify(channel: string, payload: string): Promise<void>;
}

export interface Store extends Repositories {
  handle: DatabaseHandle;
  dialect: DialectName;
  /** LISTEN/NOTIFY between the servers sharing the database (PostgreSQL); null on SQLite. */
  notifications: Notifications | null;
  /** Runs `work` in one transaction over repositories bound to it; answers what `work` answers. */
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /**
   * The key device credentials are sealed under (the server's secrets key file). Without one the
   * store has a key of its own that ends with it: for tests and tools that keep no credentials.
   */
  secrets?: SecretBox;
}

/** The repositories over `db`: the database itself, or a transaction of it. */
function repositories(db: Kysely<Database>, handle: DatabaseHandle, box: SecretBox): Repositories {
  const deviceSecrets = new DeviceSecretRepository(db, box, handle.sqlite);
  return {
    devices: new DeviceRepository(db, handle.maxParams, deviceSecrets, handle.sqlite),
    deviceSecrets,
    groups: new GroupRepository(db, handle.maxParams),
    deviceBulk: new DeviceBulkRepository(db, handle.dialect),
    tokens: new TokenRepository(db),
    events: new EventRepository(db, handle.maxParams),
    locks: new LockRepository(db),
    artifacts: new ArtifactRepository(db),
    enrollment: new EnrollmentRepository(db),
    deviceReports: new DeviceReportRepository(db, handle.maxParams),
    hawkbit: new HawkbitRepository(db),
    mender: new MenderRepository(db),
    rollouts: new RolloutRepository(db),
    releases: new ReleaseRepository(db),
    executions: new ExecutionRepository(db, handle.dialect, handle.maxParams),
    executionViews: new ExecutionViewRepository(db),
    executionCounts: new ExecutionCountRepository(db, handle.dialect),
    policies: new PolicyRepository(db),
    subscriptions: new SubscriptionRepository(db),
    webhookReceipts: new WebhookReceiptRepository(db),
    stats: new StatsRepository(db),
  };
}

export function createStore(handle: DatabaseHandle, options: StoreOptions = {}): Store {
  const box = options.secrets ?? SecretBox.ephemeral();
  const bind = (trx: Kysely<Database>): StoreTransaction => ({
    ...repositories(trx, handle, box),
    notify: (channel, payload) => (handle.pool ? notifyIn(trx, channel, payload) : Promise.resolve()),
  });
  return {
    ...repositories(handle.db, handle, box),
    handle,
    dialect: handle.dialect,
    notifications: handle.pool ? new Notifications(handle.pool) : null,
    transaction: (work) => handle.db.transaction().execute((trx) => work(bind(trx))),
    close: () => handle.close(),
  };
}

/** Opens the database, applies pending migrations and returns the store. */
export async function openStore(options: OpenOptions & StoreOptions): Promise<Store> {
  const handle = openDatabase(options);
  try {
    await migrate(handle);
    // An import that died with its indexes deferred left their definitions behind.
    if (handle.sqlite) await restoreDeferredIndexes(handle.sqlite);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return createStore(handle, options);
}

export * from './database.js';
export * from './migrator.js';
export * from './schema.js';
export * from './device.repository.js';
export * from './device-secret.repository.js';
export * from './group.repository.js';
export * from './device-bulk.repository.js';
export * from './token.repository.js';
export * from './event.repository.js';
export * from './lock.repository.js';
export * from './enrollment.repository.js';
export * from './device-report.repository.js';
export * from './artifact.repository.js';
export * from './event-log.js';
export * from './protocol.schema.js';
export * from './hawkbit.repository.js';
export * from './mender.repository.js';
export * from './notifications.js';
export * from './rollout.schema.js';
export * from './rollout.repository.js';
export * from './release.schema.js';
export * from './release.repository.js';
export * from './execution.repository.js';
export * from './execution-view.repository.js';
export * from './execution-count.repository.js';
export * from './policy.repository.js';
export * from './subscription.repository.js';
export * from './webhook-receipt.repository.js';
export * from './stats.repository.js';
