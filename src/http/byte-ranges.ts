// The Range header (RFC 9110 §14.1.2), parsed against a size: the one parser for every reply that
// serves stored bytes (send-file.ts). Ranges are sorted and overlapping or adjacent ones merged; a
// set of more than `maxRanges` after merging is refused (416, as the RFC allows against denial of
// service), never silently ignored.

/** One satisfiable range, `end` inclusive. */
export interface ByteSpan {
  start: number;
  end: number;
}

/** Most ranges (after merging) one request may ask for. */
export const MAX_RANGES_PER_REQUEST = 256;

export type RangesResult = { kind: 'none' } | { kind: 'ranges'; ranges: ByteSpan[] } | { kind: 'unsatisfiable' } | { kind: 'too-many'; count: number };

/**
 * Parses a Range header against a size. Absent or malformed headers (another unit, no digits, an
 * empty spec) mean the whole file: RFC 9110 lets a server ignore them. Well-formed ranges that are
 * outside the file, or invalid (last before first, a zero-length suffix), are dropped, and if none
 * is left the request is unsatisfiable (416, as §14.2 asks).
 */
export function parseRanges(value: string | undefined, size: number, maxRanges = MAX_RANGES_PER_REQUEST): RangesResult {
  if (!value) return { kind: 'none' };
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(value);
  if (!match) return { kind: 'none' };
  const specs = match[1]!.split(',');
  // A header that long is an attack or a bug; do not even parse it.
  if (specs.length > maxRanges * 4) return { kind: 'too-many', count: specs.length };
  const spans: ByteSpan[] = [];
  for (const raw of specs) {
    const spec = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(raw);
    if (!spec || (spec[1] === '' && spec[2] === '')) return { kind: 'none' };
    if (spec[1] === '') {
      const suffix = Number(spec[2]);
      if (suffix > 0 && size > 0) spans.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(spec[1]);
    const end = spec[2] === '' ? size - 1 : Math.min(Number(spec[2]), size - 1);
    if (start < size && start <= end) spans.push({ start, end });
  }
  if (spans.length === 0) return { kind: 'unsatisfiable' };
  spans.sort((a, b) => a.start - b.start);
  const merged: ByteSpan[] = [spans[0]!];
  for (const span of spans.slice(1)) {
    const last = merged[merged.length - 1]!;
    if (span.start <= last.end + 1) last.end = Math.max(last.end, span.end);
    else merged.push(span);
  }
  if (merged.length > maxRanges) return { kind: 'too-many', count: merged.length };
  return { kind: 'ranges', ranges: merged };
}
