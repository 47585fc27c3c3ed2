// Test support for transports: artifact files on disk with their Artifact record, and devices.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { signArtifact, type Artifact, type Device, type DeviceMode } from '../core/index.js';

export interface ArtifactFile {
  artifact: Artifact;
  filePath: string;
  bytes: Buffer;
}

/** Writes `bytes` (or `size` random bytes) to a file under `dir` and describes it as an Artifact. */
export function makeArtifactFile(dir: string, options: { name?: string; version?: string; size?: number; bytes?: Buffer; signWith?: string } = {}): ArtifactFile {
  const bytes = options.bytes ?? randomBytes(options.size ?? 64 * 1024);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const name = options.name ?? 'firmware';
  const version = options.version ?? '1.0.0';
  const filePath = path.join(dir, `${sha256}.bin`);
  fs.writeFileSync(filePath, bytes);
  const artifact: Artifact = {
    id: randomUUID(),
    name,
    version,
    kind: 'file',
    sha256,
    size: bytes.length,
    contentType: 'application/octet-stream',
    signature: options.signWith ? signArtifact({ name, version, sha256 }, options.signWith) : null,
    imageRef: null,
    metadata: {},
    chunkIndex: null,
    createdAt: new Date().toISOString(),
  };
  return { artifact, filePath, bytes };
}

export function makeDevice(id: string, mode: DeviceMode, address: string, metadata: Record<string, unknown> = {}): Device {
  const now = new Date().toISOString();
  return { id, name: id, address, mode, status: 'online', lastSeen: now, version: null, location: null, timezone: 'UTC', tags: {}, metadata, tenant: 'DEFAULT', deviceType: null, decommissionedAt: null, createdAt: now, updatedAt: now };
}
