// Reads an SWUpdate image (.swu: a CPIO "newc"/"crc" archive whose first member is sw-description)
// as a stream: parses sw-description, hashes every member, and checks the sha256 sums it declares.
import { createHash } from 'node:crypto';
import { ValidationError } from '../../core/index.js';
import { ByteReader } from '../byte-reader.js';
import { parseLibconfig, type ConfigValue } from './libconfig.js';

const HEADER = 110;
const MAX_DESCRIPTION = 1024 * 1024;
const TRAILER = 'TRAILER!!!';

/** One member of the CPIO archive. */
export interface SwuMember {
  name: string;
  size: number;
  sha256: string;
}

/** An image, file or script sw-description installs. */
export interface SwuPayload {
  kind: 'images' | 'files' | 'scripts';
  filename: string;
  sha256: string | null;
  /** Where it goes (device for images, path for files), when said. */
  target: string | null;
}

/** What the server needs from a .swu. */
export interface SwuInfo {
  version: string | null;
  description: string | null;
  hardwareCompatibility: string[];
  signed: boolean;
  payloads: SwuPayload[];
  members: SwuMember[];
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function hexField(header: Buffer, index: number, member: string): number {
  const raw = header.toString('latin1', 6 + index * 8, 14 + index * 8);
  if (!/^[0-9a-fA-F]{8}$/.test(raw)) throw new ValidationError(`not a valid .swu: CPIO header of '${member}' has a bad field '${raw}'`);
  return parseInt(raw, 16);
}

const str = (v: ConfigValue | undefined): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);
const isGroup = (v: ConfigValue | undefined): v is Record<string, ConfigValue> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Collects image/file/script entries anywhere in the tree (board and selection sub-groups included). */
function payloadsOf(node: Record<string, ConfigValue>, out: SwuPayload[]): void {
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'images' || key === 'files' || key === 'scripts') && Array.isArray(value)) {
      for (const item of value) {
        if (!isGroup(item)) continue;
        const filename = str(item.filename);
        if (filename) out.push({ kind: key, filename, sha256: str(item.sha256), target: str(item.path) ?? str(item.device) ?? str(item.volume) });
      }
    } else if (isGroup(value)) payloadsOf(value, out);
  }
}

/** Interprets sw-description text (pure). */
export function describeSwu(text: string): Omit<SwuInfo, 'signed' | 'members'> {
  const doc = parseLibconfig(text);
  const software = doc.software;
  if (!isGroup(software)) throw new ValidationError("not a valid .swu: sw-description has no 'software' group", [{ path: 'sw-description', message: "missing 'software = { ... }'" }]);
  const hw = software['hardware-compatibility'];
  const payloads: SwuPayload[] = [];
  payloadsOf(software, payloads);
  return {
    version: str(software.version),
    description: str(software.description),
    hardwareCompatibility: Array.isArray(hw) ? hw.map((v) => str(v)).filter((v): v is string => v !== null) : [],
    payloads,
  };
}

/** Parses a .swu stream; refuses anything that SWUpdate would refuse for its structure. */
export async function parseSwu(source: AsyncIterable<Uint8Array>): Promise<SwuInfo> {
  const reader = new ByteReader(source, 'the .swu archive');
  const members: SwuMember[] = [];
  let description: string | null = null;
  for (;;) {
    const header = await reader.read(HEADER);
    const magic = header.toString('latin1', 0, 6);
    if (magic !== '070701' && magic !== '070702') {
      throw new ValidationError(`not a valid .swu: expected a CPIO newc header (070701/070702) at offset ${reader.position - HEADER}, found '${magic.replace(/[^\x20-\x7e]/g, '?')}'`);
    }
    const size = hexField(header, 6, '?');
    const nameSize = hexField(header, 11, '?');
    if (nameSize < 1 || nameSize > 4096) throw new ValidationError(`not a valid .swu: member name length ${nameSize} is out of range`);
    const name = (await reader.read(nameSize)).toString('utf8').replace(/\0+$/, '');
    await reader.skip(pad4(HEADER + nameSize));
    if (name === TRAILER) break;
    if (members.length === 0 && name !== 'sw-description') throw new ValidationError(`not a valid .swu: the first member must be 'sw-description', found '${name}'`);
    const hash = createHash('sha256');
    if (name === 'sw-description') {
      if (size > MAX_DESCRIPTION) throw new ValidationError(`not a valid .swu: sw-description is ${size} bytes (at most ${MAX_DESCRIPTION})`);
      const bytes = await reader.read(size);
      hash.update(bytes);
      description = bytes.toString('utf8');
    } else {
      for await (const chunk of reader.take(size)) hash.update(chunk);
    }
    await reader.skip(pad4(size));
    members.push({ name, size, sha256: hash.digest('hex') });
  }
  await reader.drain();
  if (description === null) throw new ValidationError('not a valid .swu: the archive is empty');
  const info = describeSwu(description);
  for (const payload of info.payloads) {
    const member = members.find((m) => m.name === payload.filename);
    if (!member) throw new ValidationError(`not a valid .swu: sw-description names '${payload.filename}' but the archive does not contain it`);
    if (payload.sha256 && payload.sha256.toLowerCase() !== member.sha256) {
      throw new ValidationError(`not a valid .swu: sha256 of '${payload.filename}' is ${member.sha256} but sw-description says ${payload.sha256}`);
    }
  }
  return { ...info, signed: members.some((m) => m.name === 'sw-description.sig'), members };
}

/** Convenience for tests and small inputs. */
export async function parseSwuBuffer(bytes: Uint8Array): Promise<SwuInfo> {
  return parseSwu((async function* () {
    yield bytes;
  })());
}
