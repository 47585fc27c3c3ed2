// Reads what the device protocols need from uploaded update bundles: a .swu (CPIO whose first
// member is sw-description) or a .mender (tar whose first member is `version`). Recognised by
// their first bytes; a malformed bundle is refused with the parser's ValidationError.
import fs from 'node:fs';
import { parseMenderArtifact } from './mender/mender-artifact.js';
import { parseSwu } from './hawkbit/swu-archive.js';

export type BundleFormat = 'swu' | 'mender';

/** Recognises a bundle from its first 512 bytes (or fewer); null for anything else. */
export function sniffBundle(head: Buffer): BundleFormat | null {
  const magic = head.toString('latin1', 0, 6);
  if (magic === '070701' || magic === '070702') return 'swu';
  const tarName = head.toString('latin1', 0, 100).replace(/\0.*$/s, '');
  if (head.length >= 512 && head.toString('latin1', 257, 262) === 'ustar' && tarName === 'version') return 'mender';
  return null;
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buffer, 0, 512, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Metadata to merge into an uploaded artifact's: `{format, swu}` or `{format, mender}`, or {}
 * when the file is neither. Throws ValidationError when it looks like one but is malformed.
 */
export async function inspectBundle(file: string): Promise<Record<string, unknown>> {
  const format = sniffBundle(await readHead(file));
  if (format === 'swu') {
    const info = await parseSwu(fs.createReadStream(file));
    return {
      format,
      swu: { version: info.version, description: info.description, hardwareCompatibility: info.hardwareCompatibility, signed: info.signed, payloads: info.payloads.map((p) => ({ kind: p.kind, filename: p.filename, target: p.target })) },
    };
  }
  if (format === 'mender') {
    const info = await parseMenderArtifact(fs.createReadStream(file));
    return {
      format,
      mender: { artifactName: info.artifactName, deviceTypes: info.deviceTypes, provides: info.provides, depends: info.depends, payloadTypes: info.payloadTypes, formatVersion: info.formatVersion, signed: info.signed },
    };
  }
  return {};
}
