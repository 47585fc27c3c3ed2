// Push delivery: one Transport interface, HTTP and SSH/SFTP implementations, and the factory the composition root hands to the engine.
// May import: core, outbound
import type { DeviceMode } from '../core/index.js';
import { OutboundGuard } from '../outbound/index.js';
import { HttpTransport } from './http/http.transport.js';
import { SftpTransport } from './ssh/sftp.transport.js';
import type { Transport } from './transport.js';

export * from './transport.js';
export * from './http/http.transport.js';
export * from './ssh/sftp.transport.js';
export * from './ssh/known-hosts.js';
export * from './ssh/connection-pool.js';

/** The push transports by device mode ('pull' devices have none: they fetch for themselves). */
export type TransportMap = Partial<Record<DeviceMode, Transport>> & { http: Transport; ssh: Transport };

/**
 * Builds the transports from the server configuration: SSH key and known_hosts from
 * ORCHESTRATOR_SSH_KEY / ORCHESTRATOR_SSH_KNOWN_HOSTS (passphrase ORCHESTRATOR_SSH_KEY_PASSPHRASE),
 * trust on first use from ORCHESTRATOR_SSH_TOFU; both check device addresses against `outbound`
 * (ORCHESTRATOR_OUTBOUND_DENY). Close them all on shutdown.
 */
export function createTransports(config: { sshKeyPath?: string; sshKnownHostsPath?: string; sshTrustOnFirstUse: boolean }, outbound: OutboundGuard = OutboundGuard.fromEntries(), env: NodeJS.ProcessEnv = process.env): TransportMap {
  return {
    http: new HttpTransport({ outbound }),
    ssh: new SftpTransport({
      outbound,
      keyPath: config.sshKeyPath,
      keyPassphrase: env.ORCHESTRATOR_SSH_KEY_PASSPHRASE || undefined,
      knownHostsPath: config.sshKnownHostsPath,
      trustOnFirstUse: config.sshTrustOnFirstUse,
    }),
  };
}

/** Closes every transport (pooled connections). */
export async function closeTransports(transports: TransportMap): Promise<void> {
  await Promise.all(Object.values(transports).map((t) => t?.close()));
}
