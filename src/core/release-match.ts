// Which artifacts of a release a device gets: for each component, in release order, the first
// artifact whose match fits the device (its protocol and device type). A device that nothing fits
// is skipped, with the reason. The one rule that both a rollout's dry run and its real start use.
import picomatch from 'picomatch';
import { PROTOCOL_LABELS, type Release, type ReleaseArtifact, type ReleaseMatch, type ReleaseProtocol } from './release.js';

/** What the matcher needs of a device. */
export interface MatchDevice {
  protocol: ReleaseProtocol;
  deviceType: string | null;
}

export type ReleaseMatchResult = { kind: 'deliver'; artifacts: ReleaseArtifact[] } | { kind: 'skip'; reason: string };

/**
 * Protocols over which one execution can deliver several components to one device: the agent
 * (installs them in release order, health-checks once, rolls every one back if any fails) and
 * hawkBit (several chunks in one deploymentBase, one feedback). Mender takes one compatible
 * artifact and pushes one file, so a device that several components fit is skipped there, with
 * the reason.
 */
export const MULTI_COMPONENT_PROTOCOLS: ReadonlySet<ReleaseProtocol> = new Set<ReleaseProtocol>(['agent', 'hawkbit']);

const compiled = new Map<string, (type: string) => boolean>();
function globMatches(glob: string, deviceType: string): boolean {
  let test = compiled.get(glob);
  if (!test) {
    test = picomatch(glob, { dot: true });
    if (compiled.size > 1000) compiled.clear();
    compiled.set(glob, test);
  }
  return test(deviceType);
}

/** True when `match` fits the device. A device of unknown type fits only a match without a device type. */
export function matchFits(match: ReleaseMatch, device: MatchDevice): boolean {
  if (match.protocol && !match.protocol.includes(device.protocol)) return false;
  if (match.deviceType === null) return true;
  return device.deviceType !== null && globMatches(match.deviceType, device.deviceType);
}

const releaseName = (release: Pick<Release, 'name' | 'version'>) => `${release.name} ${release.version}`;
const deviceLabel = (device: MatchDevice) => `${device.deviceType === null ? 'a device of unknown type' : `device type ${device.deviceType}`} over ${PROTOCOL_LABELS[device.protocol]}`;

/** The components of a release, in the order the release first names them. */
export function componentsOf(release: Pick<Release, 'artifacts'>): string[] {
  return [...new Set([...release.artifacts].sort((a, b) => a.position - b.position).map((a) => a.component))];
}

/**
 * The artifacts `device` gets from `release`: one per component that has a fitting artifact (the
 * first in release order), or a skip with the reason, e.g. "no artifact of release pos 2.4.1 for
 * device type rpi3 over hawkBit".
 */
export function matchRelease(release: Pick<Release, 'name' | 'version' | 'artifacts'>, device: MatchDevice): ReleaseMatchResult {
  const ordered = [...release.artifacts].sort((a, b) => a.position - b.position);
  const chosen: ReleaseArtifact[] = [];
  for (const component of componentsOf(release)) {
    const fit = ordered.find((a) => a.component === component && matchFits(a.match, device));
    if (fit) chosen.push(fit);
  }
  if (chosen.length === 0) return { kind: 'skip', reason: `no artifact of release ${releaseName(release)} for ${deviceLabel(device)}` };
  if (chosen.length > 1 && !MULTI_COMPONENT_PROTOCOLS.has(device.protocol)) {
    return {
      kind: 'skip',
      reason: `release ${releaseName(release)} has ${chosen.length} components for ${deviceLabel(device)} (${chosen.map((a) => a.component).join(', ')}); delivering several components to one device over ${PROTOCOL_LABELS[device.protocol]} is not supported`,
    };
  }
  return { kind: 'deliver', artifacts: chosen };
}

/** matchRelease for one release, remembered per (protocol, device type): a fleet has few of those. */
export function releaseMatcher(release: Pick<Release, 'name' | 'version' | 'artifacts'>): (device: MatchDevice) => ReleaseMatchResult {
  const seen = new Map<string, ReleaseMatchResult>();
  return (device) => {
    const key = `${device.protocol}|${device.deviceType ?? ''}`;
    let result = seen.get(key);
    if (!result) seen.set(key, (result = matchRelease(release, device)));
    return result;
  };
}

/** What a rollout of a release would do: devices per artifact, and skipped devices by reason. */
export interface ReleasePlanSummary {
  total: number;
  byArtifact: Record<string, number>;
  skipped: { reason: string; devices: number }[];
}

/** Counts what matchRelease decides for each device (the dry run; the real start writes the same decisions). */
export function summarizeReleaseMatch(release: Pick<Release, 'name' | 'version' | 'artifacts'>, devices: Iterable<MatchDevice>): ReleasePlanSummary {
  const byArtifact: Record<string, number> = {};
  const skipped = new Map<string, number>();
  let total = 0;
  const match = releaseMatcher(release);
  for (const device of devices) {
    total++;
    const result = match(device);
    if (result.kind === 'skip') skipped.set(result.reason, (skipped.get(result.reason) ?? 0) + 1);
    else for (const a of result.artifacts) byArtifact[a.artifactId] = (byArtifact[a.artifactId] ?? 0) + 1;
  }
  return { total, byArtifact, skipped: [...skipped].map(([reason, n]) => ({ reason, devices: n })).sort((a, b) => b.devices - a.devices || a.reason.localeCompare(b.reason)) };
}
