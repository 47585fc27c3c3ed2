// Reads a Mender artifact (.mender: an uncompressed tar of version, manifest, header.tar.gz and
// data/NNNN.tar.gz) as a stream: artifact name, compatible device types, provides, payload files,
// and checks every sha256 the manifest lists against the bytes.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ValidationError } from '../../core/index.js';
import { readSmall, readTar, type TarEntry } from './tar.js';

const SMALL = 1024 * 1024;
const WHAT = 'the .mender artifact';

/** A file a payload installs (data/NNNN/<name> in the manifest). */
export interface MenderFile {
  payload: number;
  name: string;
  size: number;
  sha256: string;
}

/** What the server needs from a .mender artifact. */
export interface MenderArtifactInfo {
  formatVersion: number;
  artifactName: string;
  deviceTypes: string[];
  /** artifact_provides of the header and of each payload, merged. */
  provides: Record<string, string>;
  /** Other artifact_depends besides device_type (e.g. artifact_name) the device must satisfy. */
  depends: Record<string, string[]>;
  payloadTypes: string[];
  files: MenderFile[];
  signed: boolean;
}

type Json = Record<string, unknown>;

function parseJson(bytes: Buffer, name: string): Json {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  } catch {
    // reported below
  }
  throw new ValidationError(`not a valid .mender artifact: '${name}' is not a JSON object`);
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
const stringMap = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(typeof v === 'object' && v !== null ? v : {}).filter((e): e is [string, string] => typeof e[1] === 'string'));

function gunzip(entry: TarEntry): AsyncIterable<Uint8Array> {
  if (!entry.name.endsWith('.gz')) {
    throw new ValidationError(`not a supported .mender artifact: '${entry.name}' is not gzip-compressed (write it with 'mender-artifact --compression gzip')`);
  }
  const stream = Readable.from(entry.body).pipe(createGunzip());
  return stream;
}

async function hashAll(chunks: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

interface Header {
  artifactName: string;
  deviceTypes: string[];
  provides: Record<string, string>;
  depends: Record<string, string[]>;
  payloadTypes: string[];
}

async function readHeader(entry: TarEntry, formatVersion: number): Promise<Header> {
  const header: Header = { artifactName: '', deviceTypes: [], provides: {}, depends: {}, payloadTypes: [] };
  let sawInfo = false;
  try {
    for await (const inner of readTar(gunzip(entry), `${WHAT}'s header`)) {
      if (inner.name === 'header-info') {
        sawInfo = true;
        const info = parseJson(await readSmall(inner, SMALL, WHAT), 'header-info');
        if (formatVersion >= 3) {
          const provides = stringMap(info.artifact_provides);
          const depends = (info.artifact_depends ?? {}) as Json;
          header.artifactName = provides.artifact_name ?? '';
          Object.assign(header.provides, provides);
          header.deviceTypes = strings(depends.device_type);
          for (const [key, value] of Object.entries(depends)) if (key !== 'device_type') header.depends[key] = strings(value);
          header.payloadTypes = (Array.isArray(info.payloads) ? info.payloads : []).map((p: Json) => String(p?.type ?? ''));
        } else {
          header.artifactName = typeof info.artifact_name === 'string' ? info.artifact_name : '';
          header.deviceTypes = strings(info.device_types_compatible);
          header.payloadTypes = (Array.isArray(info.updates) ? info.updates : []).map((p: Json) => String(p?.type ?? ''));
        }
      } else if (/^headers\/\d{4}\/type-info$/.test(inner.name)) {
        const typeInfo = parseJson(await readSmall(inner, SMALL, WHAT), inner.name);
        Object.assign(header.provides, stringMap(typeInfo.artifact_provides));
      }
    }
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`not a valid .mender artifact: header.tar.gz cannot be read (${(error as Error).message})`);
  }
  if (!sawInfo) throw new ValidationError('not a valid .mender artifact: header.tar.gz has no header-info');
  if (!header.artifactName) throw new ValidationError('not a valid .mender artifact: header-info names no artifact (artifact_provides.artifact_name)');
  if (header.deviceTypes.length === 0) throw new ValidationError('not a valid .mender artifact: header-info lists no compatible device type');
  return header;
}

/** Parses a .mender stream; refuses malformed archives and checksum mismatches with a clear message. */
export async function parseMenderArtifact(source: AsyncIterable<Uint8Array>): Promise<MenderArtifactInfo> {
  let formatVersion = 0;
  let manifest: Map<string, string> | null = null;
  let header: Header | null = null;
  let signed = false;
  const actual = new Map<string, string>();
  const files: MenderFile[] = [];
  let first = true;
  for await (const entry of readTar(source, WHAT)) {
    if (first && entry.name !== 'version') throw new ValidationError(`not a valid .mender artifact: the first member must be 'version', found '${entry.name}'`);
    first = false;
    if (entry.name === 'version') {
      const bytes = await readSmall(entry, SMALL, WHAT);
      actual.set('version', createHash('sha256').update(bytes).digest('hex'));
      const version = parseJson(bytes, 'version');
      if (version.format !== 'mender' || (version.version !== 2 && version.version !== 3)) {
        throw new ValidationError(`not a supported .mender artifact: format ${JSON.stringify(version.format)} version ${JSON.stringify(version.version)} (2 and 3 are supported)`);
      }
      formatVersion = version.version;
    } else if (entry.name === 'manifest') {
      manifest = new Map();
      for (const line of (await readSmall(entry, SMALL, WHAT)).toString('utf8').split('\n')) {
        const match = /^([0-9a-f]{64})\s+(\S.*)$/.exec(line.trim());
        if (match) manifest.set(match[2]!, match[1]!);
      }
    } else if (entry.name === 'manifest.sig') {
      signed = true;
    } else if (/^header\.tar(\.\w+)?$/.test(entry.name)) {
      const hash = createHash('sha256');
      const tee = async function* () {
        for await (const chunk of entry.body) {
          hash.update(chunk);
          yield chunk;
        }
      };
      header = await readHeader({ ...entry, body: tee() }, formatVersion);
      actual.set('header.tar' + entry.name.slice('header.tar'.length), hash.digest('hex'));
    } else {
      const data = /^data\/(\d{4})\.tar(\.\w+)?$/.exec(entry.name);
      if (!data) continue;
      const payload = Number(data[1]);
      try {
        for await (const inner of readTar(gunzip(entry), `${WHAT}'s ${entry.name}`)) {
          const { sha256, size } = await hashAll(inner.body);
          files.push({ payload, name: inner.name, size, sha256 });
          actual.set(`data/${data[1]}/${inner.name}`, sha256);
        }
      } catch (error) {
        if (error instanceof ValidationError) throw error;
        throw new ValidationError(`not a valid .mender artifact: ${entry.name} cannot be read (${(error as Error).message})`);
      }
    }
  }
  if (!header) throw new ValidationError('not a valid .mender artifact: header.tar.gz is missing');
  if (formatVersion >= 3) {
    if (!manifest) throw new ValidationError('not a valid .mender artifact: the manifest is missing');
    for (const [name, sha256] of actual) {
      const expected = manifest.get(name);
      if (!expected) throw new ValidationError(`not a valid .mender artifact: '${name}' is not listed in the manifest`);
      if (expected !== sha256) throw new ValidationError(`not a valid .mender artifact: sha256 of '${name}' is ${sha256} but the manifest says ${expected}`);
    }
  }
  return { formatVersion, ...header, files, signed };
}

/** Convenience for tests and small inputs. */
export async function parseMenderBuffer(bytes: Uint8Array): Promise<MenderArtifactInfo> {
  return parseMenderArtifact(Readable.from([Buffer.from(bytes)]));
}
