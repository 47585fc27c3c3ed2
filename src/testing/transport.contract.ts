// The one contract every Transport passes (run by http.transport.test.ts and sftp.transport.test.ts):
// real deliveries to a real peer, repeats answered already-installed, aborts, unreachable devices.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../core/index.js';
import { makeArtifactFile } from './delivery.js';
import { DeliveryError, type Transport } from '../delivery/transport.js';

/** A device endpoint the transport delivers to. */
export interface ContractPeer {
  device: Device;
  /** The bytes the peer holds for name-version after a delivery, or null. */
  installed(name: string, version: string): Promise<Buffer | null>;
  close(): Promise<void>;
}

export interface ContractOptions {
  name: string;
  newTransport(): Transport;
  /** A fresh peer (its own install location) with this device id. */
  newPeer(deviceId: string): Promise<ContractPeer>;
  /** A device whose address nothing listens on. */
  unreachableDevice(): Device;
  /** Contract runs may need more time for some transports' setup. */
  timeoutMs?: number;
}

export function runTransportContract(options: ContractOptions): void {
  describe(`Transport contract: ${options.name}`, () => {
    let dir: string;
    let transport: Transport;
    const peers: ContractPeer[] = [];
    const peer = async (id: string) => {
      const p = await options.newPeer(id);
      peers.push(p);
      return p;
    };

    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-contract-'));
      transport = options.newTransport();
    });
    afterAll(async () => {
      await transport?.close();
      await Promise.all(peers.map((p) => p.close()));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('delivers the exact bytes and reports progress up to the size', async () => {
      const p = await peer('c-1');
      const file = makeArtifactFile(dir, { size: 1024 * 1024 + 17 });
      let last = 0;
      const result = await transport.deliver({ updateId: 'u-1', device: p.device, artifact: file.artifact, filePath: file.filePath, onProgress: (sent, total) => {
        expect(total).toBe(file.artifact.size);
        last = sent;
      } });
      expect(result.outcome).toBe('delivered');
      expect(last).toBe(file.artifact.size);
      expect((await p.installed('firmware', '1.0.0'))?.equals(file.bytes)).toBe(true);
    });

    it('answers already-installed when the device has the same artifact', async () => {
      const p = await peer('c-2');
      const file = makeArtifactFile(dir, { version: '2.0.0' });
      const request = { updateId: 'u-2', device: p.device, artifact: file.artifact, filePath: file.filePath };
      expect((await transport.deliver(request)).outcome).toBe('delivered');
      expect((await transport.deliver({ ...request, updateId: 'u-2-again' })).outcome).toBe('already-installed');
      expect((await p.installed('firmware', '2.0.0'))?.equals(file.bytes)).toBe(true);
    });

    it('delivers one artifact to several devices at once', async () => {
      const targets = await Promise.all([peer('c-3a'), peer('c-3b'), peer('c-3c')]);
      const file = makeArtifactFile(dir, { version: '3.0.0', size: 512 * 1024 });
      const results = await Promise.all(targets.map((t, i) => transport.deliver({ updateId: `u-3-${i}`, device: t.device, artifact: file.artifact, filePath: file.filePath })));
      expect(results.map((r) => r.outcome)).toEqual(['delivered', 'delivered', 'delivered']);
      for (const t of targets) expect((await t.installed('firmware', '3.0.0'))?.equals(file.bytes)).toBe(true);
    });

    it('stops when aborted and leaves nothing installed', async () => {
      const p = await peer('c-4');
      const file = makeArtifactFile(dir, { version: '4.0.0' });
      const controller = new AbortController();
      controller.abort();
      const error = await transport.deliver({ updateId: 'u-4', device: p.device, artifact: file.artifact, filePath: file.filePath, signal: controller.signal }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as DeliveryError).code).toBe('aborted');
      expect(await p.installed('firmware', '4.0.0')).toBeNull();
    });

    it('fails retryably when the device cannot be reached', async () => {
      const file = makeArtifactFile(dir, { version: '5.0.0' });
      const error = await transport.deliver({ updateId: 'u-5', device: options.unreachableDevice(), artifact: file.artifact, filePath: file.filePath }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as DeliveryError).retryable).toBe(true);
    });

    it('refuses image artifacts permanently', async () => {
      const p = await peer('c-6');
      const file = makeArtifactFile(dir, { version: '6.0.0' });
      const image = { ...file.artifact, kind: 'image' as const, imageRef: 'registry.local/app:1', size: 0 };
      const error = await transport.deliver({ updateId: 'u-6', device: p.device, artifact: image, filePath: null }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as DeliveryError).retryable).toBe(false);
    });
  });
}
