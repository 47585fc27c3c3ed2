// Test fixtures: writes ustar archives and Mender v3 artifacts byte by byte, so parser and
// integration tests build their own inputs without external tools.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** A ustar archive of the given files, in order, with the end marker. */
export function buildTar(members: Array<[string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, raw] of members) {
    const data = Buffer.from(raw);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, 'utf8');
    header.write('0000644\0', 100, 'latin1');
    header.write('0000000\0', 108, 'latin1');
    header.write('0000000\0', 116, 'latin1');
    header.write(data.length.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
    header.write('00000000000\0', 136, 'latin1');
    header.write('        ', 148, 'latin1');
    header.write('0', 156, 'latin1');
    header.write('ustar\0' + '00', 257, 'latin1');
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    parts.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export interface ArtifactSpec {
  name: string;
  deviceTypes: string[];
  files: Array<[string, Buffer | string]>;
  payloadType?: string;
  provides?: Record<string, string>;
  /** Corrupts the manifest entry of the first data file. */
  badManifest?: boolean;
}

/** A Mender format-3 artifact with one payload, as mender-artifact writes it. */
export function buildMenderArtifact(spec: ArtifactSpec): Buffer {
  const version = JSON.stringify({ format: 'mender', version: 3 });
  const headerInfo = JSON.stringify({ payloads: [{ type: spec.payloadType ?? 'single-file' }], artifact_provides: { artifact_name: spec.name }, artifact_depends: { device_type: spec.deviceTypes } });
  const typeInfo = JSON.stringify({ type: spec.payloadType ?? 'single-file', artifact_provides: spec.provides ?? {} });
  const header = gzipSync(buildTar([['header-info', headerInfo], ['headers/0000/type-info', typeInfo]]));
  const data = gzipSync(buildTar(spec.files));
  const lines = [
    ...spec.files.map(([n, d], i) => `${spec.badManifest && i === 0 ? sha('corrupted') : sha(d)}  data/0000/${n}`),
    `${sha(header)}  header.tar.gz`,
    `${sha(version)}  version`,
  ];
  return buildTar([['version', version], ['manifest', lines.join('\n') + '\n'], ['header.tar.gz', header], ['data/0000.tar.gz', data]]);
}
