// Versions as sortable keys, and semver ranges as bounds over those keys, so a registry with a
// million devices can answer "version <2.4.0" with an index range scan instead of a table scan.
import semver from 'semver';

const WIDTH = 6;
const pad = (n: number) => String(Math.min(n, 999_999)).padStart(WIDTH, '0');

/**
 * A string that sorts like the semver it encodes: "000002.000004.000001~" for 2.4.1.
 * Prereleases sort below their release ("-beta" < "~"). Null when the version is not semver-like.
 */
export function versionKey(version: string | null | undefined): string | null {
  if (!version) return null;
  const parsed = semver.parse(version, { loose: true }) ?? semver.coerce(version, { includePrerelease: true });
  if (!parsed) return null;
  const base = `${pad(parsed.major)}.${pad(parsed.minor)}.${pad(parsed.patch)}`;
  return parsed.prerelease.length > 0 ? `${base}-${parsed.prerelease.join('.')}` : `${base}~`;
}

export type KeyComparator = { op: '<' | '<=' | '>' | '>=' | '='; key: string };

/** A version filter after parsing: an exact string, or a union of intersections of key bounds. */
export type VersionMatch = { kind: 'exact'; version: string } | { kind: 'range'; anyOf: KeyComparator[][] };

/**
 * True when the text is a range ("<2.4.0", ">=1.2 <2", "^1.4", "1.x") rather than one version. A
 * version without all three parts ("2", "2.0", "v2.0") is a range too: 2.0 means 2.0.x, as in
 * semver ranges, so `--version 2.0` finds the devices on 2.0.3 instead of silently none.
 */
function looksLikeRange(text: string): boolean {
  if (/^v?\d+(\.\d+)?$/i.test(text.trim())) return true;
  return /[<>=^~*xX| ]/.test(text.trim()) && !semver.valid(text);
}

/**
 * Parses the `version` filter. A full version (2.4.1) or a name that is not semver-like
 * (custom-build-7) matches exactly; a partial version (2.0 = 2.0.x, 2 = 2.x) and anything with
 * range syntax is parsed as a semver range. Returns null when the text is a malformed range.
 */
export function parseVersionFilter(text: string): VersionMatch | null {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (!looksLikeRange(trimmed)) return { kind: 'exact', version: trimmed };
  let range: semver.Range;
  try {
    range = new semver.Range(trimmed, { loose: true });
  } catch {
    return null;
  }
  const anyOf: KeyComparator[][] = [];
  for (const set of range.set) {
    const all: KeyComparator[] = [];
    for (const comparator of set) {
      if (comparator.value === '') continue; // "*" matches any version
      const key = versionKey(comparator.semver.version);
      if (!key) continue;
      // "<2.0.0" must also exclude 2.0.0's prereleases ("2.0.0-rc.1" sorts below "2.0.0"), as
      // semver does: compare against the lowest possible key of that release. ">=2.0.0" starts at
      // the release itself, so its prereleases stay out.
      const lowest = key.endsWith('~') && comparator.semver.prerelease.length === 0 ? key.slice(0, -1) : key;
      switch (comparator.operator) {
        case '<': all.push({ op: '<', key: lowest }); break;
        case '<=': all.push({ op: '<=', key }); break;
        case '>': all.push({ op: '>', key }); break;
        case '>=': all.push({ op: '>=', key }); break;
        default: all.push({ op: '=', key });
      }
    }
    anyOf.push(all);
  }
  return { kind: 'range', anyOf };
}

/** Evaluates a parsed version filter against one version, the same way the store's SQL does. */
export function matchesVersion(match: VersionMatch, version: string | null): boolean {
  if (match.kind === 'exact') return version === match.version;
  const key = versionKey(version);
  if (key === null) return false;
  return match.anyOf.some((all) =>
    all.every(({ op, key: bound }) => {
      switch (op) {
        case '<': return key < bound;
        case '<=': return key <= bound;
        case '>': return key > bound;
        case '>=': return key >= bound;
        default: return key === bound;
      }
    }),
  );
}
