// IANA time zone checks and local wall-clock arithmetic, on the runtime's own tz database (Intl).

const known = new Map<string, boolean>();

/** True when the runtime knows the zone ("America/New_York", "UTC", "Etc/GMT+5"). */
export function isValidTimeZone(zone: string): boolean {
  let ok = known.get(zone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      ok = zone.length > 0;
    } catch {
      ok = false;
    }
    if (known.size < 10_000) known.set(zone, ok);
  }
  return ok;
}
