// A device's own account of an update (SWUpdate's feedback details, a Mender deployment log):
// kept whole within a bound, each line storable (storableText), and the few lines that say why it
// failed picked out for the execution's error. Pure.
import { storableText } from './storable.js';

/** At most this much of one device log is kept (UTF-8 bytes, all lines). */
export const DEVICE_LOG_MAX_BYTES = 64 * 1024;
/** Each line is cut to this many characters. */
export const DEVICE_LOG_MAX_LINE = 2000;

/**
 * The lines as they can be stored: each through storableText (control characters replaced, cut
 * at `maxLine`), and, when all of them exceed `maxBytes`, the last ones that fit after a first
 * line saying how many earlier lines were dropped (the end of a log is where the failure is).
 */
export function storableLines(lines: readonly string[], o: { maxBytes?: number; maxLine?: number } = {}): string[] {
  const maxBytes = o.maxBytes ?? DEVICE_LOG_MAX_BYTES;
  const maxLine = o.maxLine ?? DEVICE_LOG_MAX_LINE;
  const kept: string[] = [];
  let size = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = storableText(lines[i]!, maxLine);
    const bytes = Buffer.byteLength(line) + 1;
    // Room is left for the note that replaces the lines not kept.
    if (size + bytes > maxBytes - 64) {
      kept.push(`[${i + 1} earlier lines not kept: the log is bounded to ${Math.round(maxBytes / 1024)} KiB]`);
      break;
    }
    size += bytes;
    kept.push(line);
  }
  return kept.reverse();
}

// Words that make a line worth showing as the reason; state-machine chatter that merely names an
// error state ("-> update-error [ArtifactFailure]") is not a reason.
const REASON = /\b(error|errors|fail(s|ed|ure)?|fatal|cannot|can't|could not|unable|denied|refused|invalid|corrupt(ed)?|incompatible|not compatible|no space|abort(ed)?|panic|timed? ?out|exit (status|code) [1-9]\d*)\b|\(stderr\)/i;
const CHATTER = /state transition:|^\s*$/i;
// A leading ISO-8601 time stamp (Mender's log lines) says nothing about the reason.
const TIMESTAMP = /^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:?\d\d)?\s+/;

/**
 * The last meaningful lines of a device log, oldest first, joined with " | " and at most `maxChars`
 * long: the last `maxLines` lines that name a reason (error, failed, cannot, stderr output, ...),
 * or the last non-empty lines when none does, then the `conclusion` lines (the device's final
 * word, such as SWUpdate's closing feedback), always. Empty when there is nothing.
 */
export function failureSummary(lines: readonly string[], o: { maxLines?: number; maxChars?: number; conclusion?: readonly string[] } = {}): string {
  const maxLines = o.maxLines ?? 5;
  const maxChars = o.maxChars ?? 1500;
  const tidy = (all: readonly string[]) => all.map((l) => l.replace(TIMESTAMP, '').trim()).filter((l) => !CHATTER.test(l));
  const clean = tidy(lines);
  const conclusion = tidy(o.conclusion ?? []).slice(-maxLines);
  let picked = clean.filter((l) => REASON.test(l));
  if (picked.length === 0 && conclusion.length === 0) picked = clean;
  picked = [...picked.filter((l) => !conclusion.includes(l)).slice(-maxLines), ...conclusion];
  // The same line repeated (a retried step) is shown once, at its last place.
  const unique = picked.filter((line, i) => picked.lastIndexOf(line) === i);
  const perLine = Math.max(80, Math.floor(maxChars / Math.max(1, unique.length)) - 3);
  const text = unique.map((l) => (l.length > perLine ? `${l.slice(0, perLine - 1)}…` : l)).join(' | ');
  return storableText(text, maxChars);
}
