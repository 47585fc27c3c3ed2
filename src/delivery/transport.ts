// One interface for every push transport (HTTP, SSH/SFTP, test doubles): push one artifact to one
// device and say how it went. Transports never touch the store; the engine records the outcome.
import type { Artifact, Device } from '../core/index.js';

export interface DeliveryRequest {
  /** The execution id, sent to the device as X-Update-Id so repeats are recognisable. */
  updateId: string;
  device: Device;
  artifact: Artifact;
  /** Absolute path of the artifact's bytes on disk (null for image artifacts). */
  filePath: string | null;
  /** The artifact's chunk index (gzip-compressed file, digest, index signature): a transport may push only what the device lacks. */
  chunkIndex?: { file: string; sha256: string; signature: string | null } | null;
  /** Called as bytes go out; `sent` is cumulative. */
  onProgress?: (sent: number, total: number) => void;
  /** Aborts the delivery (cancel, pause, shutdown). */
  signal?: AbortSignal;
  /** Epoch ms after which the delivery gives up with a retryable timeout. */
  deadline?: number;
}

/**
 * How much of what a device answers (an HTTP body, a verify command's output) an execution's error
 * keeps: enough to read the reason, too little to carry off what the device was pointed at.
 */
export const DELIVERY_ANSWER_CHARS = 300;

/**
 * How a delivery ended. `bytes`: what the device holds of the artifact; `bytesSent`: what crossed
 * the network (when it differs: a delta); `bytesReused`: what the device took from files it held.
 */
export type DeliveryResult = { outcome: 'delivered' | 'already-installed'; bytes: number; bytesSent?: number; bytesReused?: number };

/** A delivery that did not succeed; `retryable` says whether trying again may help. */
export class DeliveryError extends Error {
  readonly retryable: boolean;
  readonly code: string;
  constructor(code: string, message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeliveryError';
    this.code = code;
    this.retryable = retryable;
  }
}

export interface Transport {
  /** The device modes this transport serves ('http', 'ssh'). */
  readonly name: string;
  deliver(request: DeliveryRequest): Promise<DeliveryResult>;
  /** Releases pooled connections. */
  close(): Promise<void>;
}
