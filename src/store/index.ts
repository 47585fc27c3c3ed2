// The store: one SQL database behind narrow repositories split by capability.
import { SecretBox } from '../core/index.js';
import { openDatabase, type DatabaseHandle, type OpenOptions } from './database.js';
import { ArtifactRepository } from './artifact.repository.js';
import { DeviceReportRepository } from './device-report.repository.js';
import { DeviceRepository } from './device.repository.js';
import { DeviceSecretRepository } from './device-secret.repository.js';
import { EnrollmentRepository } from './enrollment.repository.js';
import { EventRepository } from './event.repository.js';
import { ExecutionRepository } from './execution.repository.js';
import { ExecutionViewRepository } from './execution-view.repository.js';
import { HawkbitRepository } from './hawkbit.repository.js';
import { LockRepository } from './lock.repository.js';
import { MenderRepository } from './mender.repository.js';
import { Notifications } from './notifications.js';
import { restoreDeferredIndexes } from './device-import.sqlite.js';
import { migrate } from './migrator.js';
import { RolloutRepository } from './rollout.repository.js';
import { TokenRepository } from './token.repository.js';

export interface Store {
  handle: DatabaseHandle;
  devices: DeviceRepository;
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
  executions: ExecutionRepository;
  /** Read models over executions for operators (summaries, device histories). */
  executionViews: ExecutionViewRepository;
  /** LISTEN/NOTIFY between the servers sharing the database (PostgreSQL); null on SQLite. */
  notifications: Notifications | null;
  close(): Promise<void>;
}

export interface StoreOptions {
  /**
   * The key device credentials are sealed under (the server's secrets key file). Without one the
   * store has a key of its own that ends with it: for tests and tools that keep no credentials.
   */
  secrets?: SecretBox;
}

export function createStore(handle: DatabaseHandle, options: StoreOptions = {}): Store {
  const deviceSecrets = new DeviceSecretRepository(handle.db, options.secrets ?? SecretBox.ephemeral(), handle.sqlite);
  return {
    handle,
    devices: new DeviceRepository(handle.db, handle.maxParams, deviceSecrets, handle.sqlite),
    deviceSecrets,
    tokens: new TokenRepository(handle.db),
    events: new EventRepository(handle.db, handle.maxParams),
    locks: new LockRepository(handle.db),
    artifacts: new ArtifactRepository(handle.db),
    enrollment: new EnrollmentRepository(handle.db),
    deviceReports: new DeviceReportRepository(handle.db, handle.maxParams),
    hawkbit: new HawkbitRepository(handle.db),
    mender: new MenderRepository(handle.db),
    rollouts: new RolloutRepository(handle.db),
    executions: new ExecutionRepository(handle.db, handle.dialect, handle.maxParams),
    executionViews: new ExecutionViewRepository(handle.db),
    notifications: handle.pool ? new Notifications(handle.pool) : null,
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
export * from './execution.repository.js';
export * from './execution-view.repository.js';
