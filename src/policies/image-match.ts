// Which policies an image push triggers: a policy's glob (picomatch) is matched against the forms
// an operator may write for the pushed reference. A glob that names no registry host matches
// Docker Hub images only: `acme/*` is docker.io/acme/*, never ghcr.io/acme/* or
// evil.example.com/acme/*. Pure; no I/O.
import picomatch from 'picomatch';
import { parseImageRef } from '../core/index.js';

/** Docker Hub's registry when a reference names none. */
export const DEFAULT_REGISTRY = 'docker.io';

/**
 * The names a glob is matched against for `ref`: the full `registry/repository`, and for Docker
 * Hub images also the repository alone (`docker.io/library/nginx` is also `library/nginx` and
 * `nginx`); for a glob containing ':' (a tag part) with the tag, otherwise without it. Images of
 * other registries have their full name only, so a glob must name their host to match them (or
 * begin with a wildcard segment, which then matches any registry).
 */
export function imageCandidates(ref: string, withTag: boolean): string[] {
  const parsed = parseImageRef(ref);
  const registry = parsed.registry ?? DEFAULT_REGISTRY;
  const repos = [parsed.repository];
  if (registry === DEFAULT_REGISTRY && parsed.repository.startsWith('library/')) repos.push(parsed.repository.slice('library/'.length));
  const names = repos.flatMap((repo) => (registry === DEFAULT_REGISTRY ? [`${registry}/${repo}`, repo] : [`${registry}/${repo}`]));
  if (!withTag) return names;
  const tag = parsed.tag ?? '';
  return names.map((n) => `${n}:${tag}`);
}

/** What is wrong with a policy glob, or null. */
export function imagePatternProblem(pattern: unknown): string | null {
  if (typeof pattern !== 'string' || pattern.trim() === '') return 'is required: a glob such as "acme/*" or "ghcr.io/acme/app:v*"';
  if (pattern.length > 512) return 'must be at most 512 characters';
  if (/\s/.test(pattern)) return 'must not contain spaces';
  try {
    picomatch(pattern);
  } catch (error) {
    return `is not a valid glob (${(error as Error).message})`;
  }
  return null;
}

/** True when the glob matches the pushed image reference. */
export function imageMatches(pattern: string, ref: string): boolean {
  const withTag = pattern.includes(':');
  const isMatch = picomatch(pattern, { dot: true });
  return imageCandidates(ref, withTag).some((candidate) => isMatch(candidate));
}
