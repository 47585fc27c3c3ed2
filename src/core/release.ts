// Releases: what an operator rolls out to a mixed fleet. A release is a name and version with one
// or more artifacts, each for a component (`main` unless named) and a match on the device (its
// protocol, and its device type as a glob). Matches default to what the artifact declares (a
// .mender's device_types_compatible, a .swu's hardware compatibility); the operator's override wins.
import picomatch from 'picomatch';
import type { Artifact } from './artifact.js';
import { artifactFieldProblem } from './artifact.js';
import { DEVICE_TYPE_PATTERN, type Device } from './device.js';
import { ValidationError, type ErrorDetail } from './errors.js';

/** How a device is reached, as a release matches it: our agent, hawkBit DDI, Mender, a push over HTTP or SSH. */
export const RELEASE_PROTOCOLS = ['agent', 'hawkbit', 'mender', 'http', 'ssh'] as const;
export type ReleaseProtocol = (typeof RELEASE_PROTOCOLS)[number];

/** How each protocol is named in reasons, as operators know them. */
export const PROTOCOL_LABELS: Readonly<Record<ReleaseProtocol, string>> = { agent: 'the agent', hawkbit: 'hawkBit', mender: 'Mender', http: 'HTTP push', ssh: 'SSH push' };

/** Which devices an artifact of a release is for; null in a field matches every device. */
export interface ReleaseMatch {
  /** The protocols it is for (one or several), or null for any. */
  protocol: ReleaseProtocol[] | null;
  /** A glob over the device type (picomatch: `rpi*`, `{rpi3,rpi4}`), or null for any device, typed or not. */
  deviceType: string | null;
}

export interface ReleaseArtifact {
  artifactId: string;
  /** e.g. `os`, `app`, `config`. */
  component: string;
  match: ReleaseMatch;
  /** 0-based order in the release: components are installed, and candidates tried, in this order. */
  position: number;
}

export interface Release {
  id: string;
  name: string;
  version: string;
  artifacts: ReleaseArtifact[];
  createdBy: string;
  createdAt: string;
}

/** A release as asked for: artifacts with their optional component and match overrides. */
export interface ReleaseRequest {
  name: string;
  version: string;
  artifacts: { artifactId: string; component: string | null; match: { protocol?: ReleaseProtocol[] | null; deviceType?: string | null } }[];
}

export const DEFAULT_COMPONENT = 'main';
export const MAX_RELEASE_ARTIFACTS = 32;
const COMPONENT_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,31}$/;
/** Device type characters plus the glob's own: * ? [ ] { } , ! */
const GLOB_PATTERN = /^[A-Za-z0-9_.+:/*?[\]{},!-]{1,256}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is wrong with a device type glob, or null. */
export function deviceTypeGlobProblem(glob: string): string | null {
  if (!GLOB_PATTERN.test(glob)) return 'must be a glob of 1-256 letters, digits, "_ . + : / -" and "* ? [ ] { } , !" (e.g. rpi*, {rpi3,rpi4})';
  try {
    picomatch.makeRe(glob, { strictBrackets: true });
  } catch (error) {
    return `is not a valid glob: ${(error as Error).message}`;
  }
  return null;
}

function parseProtocols(raw: unknown, path: string, errors: ErrorDetail[]): ReleaseProtocol[] | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === null) return null;
  const list = typeof raw === 'string' ? raw.split(',').map((p) => p.trim()) : raw;
  if (!Array.isArray(list) || list.length === 0 || list.length > RELEASE_PROTOCOLS.length || !list.every((p) => typeof p === 'string' && (RELEASE_PROTOCOLS as readonly string[]).includes(p))) {
    errors.push({ path, message: `must be one of ${RELEASE_PROTOCOLS.join(', ')}, or a list of them (got ${JSON.stringify(raw).slice(0, 80)})` });
    return undefined;
  }
  return [...new Set(list as ReleaseProtocol[])];
}

/** Validates a release request; throws a ValidationError naming each bad field. Whether the artifacts exist is the service's check. */
export function validateReleaseInput(raw: unknown): ReleaseRequest {
  const errors: ErrorDetail[] = [];
  const input: Obj = isObj(raw) ? raw : {};
  if (!isObj(raw)) errors.push({ message: 'the release must be a JSON object {"name", "version", "artifacts": [...]}' });
  for (const key of Object.keys(input)) if (!['name', 'version', 'artifacts'].includes(key)) errors.push({ path: key, message: 'is not a release field (known: name, version, artifacts)' });
  const nameProblem = artifactFieldProblem('name', input.name);
  if (nameProblem) errors.push({ path: 'name', message: nameProblem });
  const versionProblem = artifactFieldProblem('version', input.version);
  if (versionProblem) errors.push({ path: 'version', message: versionProblem });
  const artifacts: ReleaseRequest['artifacts'] = [];
  if (!Array.isArray(input.artifacts) || input.artifacts.length === 0) errors.push({ path: 'artifacts', message: 'must list at least one artifact: [{"artifactId": "..."}]' });
  else if (input.artifacts.length > MAX_RELEASE_ARTIFACTS) errors.push({ path: 'artifacts', message: `must list at most ${MAX_RELEASE_ARTIFACTS} artifacts` });
  else
    input.artifacts.forEach((item: unknown, i) => {
      const path = `artifacts.${i}`;
      if (!isObj(item)) return void errors.push({ path, message: 'must be {"artifactId", "component"?, "match"?}' });
      for (const key of Object.keys(item)) if (!['artifactId', 'component', 'match'].includes(key)) errors.push({ path: `${path}.${key}`, message: 'is not a release artifact field (known: artifactId, component, match)' });
      const artifactId = typeof item.artifactId === 'string' && item.artifactId.length > 0 && item.artifactId.length <= 128 ? item.artifactId : '';
      if (!artifactId) errors.push({ path: `${path}.artifactId`, message: 'is required: the id of an uploaded artifact' });
      let component: string | null = null;
      if (item.component !== undefined && item.component !== null) {
        if (typeof item.component !== 'string' || !COMPONENT_PATTERN.test(item.component)) errors.push({ path: `${path}.component`, message: 'must be 1-32 lower-case letters, digits, "_", "." or "-" (e.g. os, app, config)' });
        else component = item.component;
      }
      const match: ReleaseRequest['artifacts'][number]['match'] = {};
      if (item.match !== undefined && item.match !== null) {
        if (!isObj(item.match)) errors.push({ path: `${path}.match`, message: 'must be {"protocol"?, "deviceType"?}' });
        else {
          for (const key of Object.keys(item.match)) if (!['protocol', 'deviceType'].includes(key)) errors.push({ path: `${path}.match.${key}`, message: 'is not a match field (known: protocol, deviceType)' });
          const protocol = parseProtocols(item.match.protocol, `${path}.match.protocol`, errors);
          if (protocol !== undefined) match.protocol = protocol;
          const glob = item.match.deviceType;
          if (glob === null) match.deviceType = null;
          else if (glob !== undefined) {
            const problem = typeof glob === 'string' ? deviceTypeGlobProblem(glob) : 'must be a glob string or null';
            if (problem) errors.push({ path: `${path}.match.deviceType`, message: problem });
            else match.deviceType = glob as string;
          }
        }
      }
      artifacts.push({ artifactId, component, match });
    });
  if (errors.length) throw new ValidationError(`invalid release: ${errors.map((e) => (e.path ? `${e.path} ${e.message}` : e.message)).join('; ')}`, errors);
  return { name: input.name as string, version: input.version as string, artifacts };
}

/** A glob matching exactly these device types (one as is, several as {a,b}); types that are not device types are left out. */
function globOf(types: unknown): string | null {
  const list = (Array.isArray(types) ? types : []).filter((t): t is string => typeof t === 'string' && DEVICE_TYPE_PATTERN.test(t) && !/[*?[\]{},!]/.test(t));
  const unique = [...new Set(list)];
  if (unique.length === 0) return null;
  return unique.length === 1 ? unique[0]! : `{${unique.join(',')}}`;
}

/**
 * The match an artifact declares: a .mender is for Mender devices of its device_types_compatible,
 * a .swu for hawkBit devices (SWUpdate) of its hardware compatibility; anything else is a file our
 * agent or a push installs, on any device type.
 */
export function declaredMatch(artifact: Pick<Artifact, 'metadata'>): ReleaseMatch {
  const meta = artifact.metadata;
  if (meta.format === 'mender' && isObj(meta.mender)) return { protocol: ['mender'], deviceType: globOf(meta.mender.deviceTypes) };
  if (meta.format === 'swu' && isObj(meta.swu)) return { protocol: ['hawkbit'], deviceType: globOf(meta.swu.hardwareCompatibility) };
  return { protocol: ['agent', 'http', 'ssh'], deviceType: null };
}

/** The release's artifacts: each declared match, with the operator's fields over it. */
export function releaseArtifacts(input: ReleaseRequest, artifacts: ReadonlyMap<string, Pick<Artifact, 'metadata'>>): ReleaseArtifact[] {
  return input.artifacts.map((item, position) => {
    const declared = declaredMatch(artifacts.get(item.artifactId) ?? { metadata: {} });
    return {
      artifactId: item.artifactId,
      component: item.component ?? DEFAULT_COMPONENT,
      match: {
        protocol: item.match.protocol !== undefined ? item.match.protocol : declared.protocol,
        deviceType: item.match.deviceType !== undefined ? item.match.deviceType : declared.deviceType,
      },
      position,
    };
  });
}

/** The protocol a device is reached over, from its mode and the protocol it was last heard on. */
export function releaseProtocolOf(device: Pick<Device, 'mode'> & { protocol?: string | null }): ReleaseProtocol {
  if (device.mode === 'http') return 'http';
  if (device.mode === 'ssh') return 'ssh';
  if (device.protocol === 'hawkbit') return 'hawkbit';
  if (device.protocol === 'mender') return 'mender';
  return 'agent';
}
