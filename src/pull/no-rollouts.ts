// The device API's view of rollouts when no engine is wired (e.g. a registry-only server in tests):
// no device has a target, and reports about executions are refused as unknown.
import { NotFoundError, type Execution } from '../core/index.js';
import type { DeviceSync, ExecutionReport } from '../engine/device-sync.js';

export const noRollouts: DeviceSync = {
  currentTarget: async () => null,
  applyReport: async (_deviceId: string, report: ExecutionReport): Promise<Execution> => {
    throw new NotFoundError('execution', report.id);
  },
  openDownload: async () => null,
  onTargetChanged: () => () => {},
  deviceSeen: async () => {},
};
