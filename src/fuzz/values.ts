// Hostile and wrong values the fuzz suite mixes into requests: traversal, SQL-looking text, bad
// unicode, absurd numbers, invalid time zones, cron expressions and versions.
import fc from 'fast-check';

/** The registry webhook secret the fuzz app is configured with (sometimes sent right). */
export const FUZZ_WEBHOOK_SECRET = 'fuzz-webhook-secret';

export const VALID_TIMEZONES = ['UTC', 'Europe/Berlin', 'America/Los_Angeles', 'Asia/Kolkata', 'Pacific/Chatham'];

/** Text that has broken parsers, filters and path handling elsewhere. */
export const HOSTILE_STRINGS = [
  '',
  ' ',
  '../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '/etc/passwd',
  'a\u0000b',
  '%00',
  "' OR 1=1 --",
  '"; DROP TABLE devices; --',
  '%',
  '_',
  '\\',
  '*',
  'status:online OR 1=1',
  'Mars/Olympus',
  'Etc/GMT+99',
  '61 * * * *',
  '* * * * * * *',
  '99:99-25:00',
  '1e309',
  '-1',
  '-0',
  'NaN',
  'Infinity',
  '0x10',
  '9'.repeat(400),
  'v1.2.3.4.5',
  '>=1.2.3 <',
  '^^1',
  '1.2.3-+',
  'true',
  'null',
  '[]',
  '{}',
  '\u202eevil\u202c',
  '\u200f\u05d0\u05d1\u200e',
  '\ud800',
  '\udfff\ud800',
  '\u{1f4a9}'.repeat(20),
  'é'.normalize('NFD'),
  '\r\nX-Injected: 1',
  '<script>alert(1)</script>',
  '${jndi:ldap://127.0.0.1/a}',
  '__proto__',
  'constructor',
  'key=value;key2=',
  'tag:',
  ':',
  'a:b:c',
  'x'.repeat(5000),
];

export const HOSTILE_NUMBERS = [0, -1, -0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, Number.MIN_SAFE_INTEGER - 2, 2 ** 31, 2 ** 63, 0.5, 1e-320];

export function hostileString(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
    { weight: 1, arbitrary: fc.nat({ max: 70_000 }).map((n) => 'y'.repeat(n)) },
  );
}

/** A JSON value of some type, likely not the one a field wants. */
export function wrongValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, '', [], {}, [[]], { '': null }),
    fc.constantFrom(...HOSTILE_NUMBERS),
    // Written as bare number literals into the JSON text (request.ts): JSON.parse reads them as ±Infinity.
    fc.constantFrom('$raw:1e309', '$raw:-1e309', '$raw:1e400'),
    hostileString(),
    fc.jsonValue({ maxDepth: 2 }),
  );
}

/** Loopback URLs only: created subscriptions and devices must never send traffic elsewhere. */
export function loopbackUrl(): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom('http', 'https'), fc.integer({ min: 1, max: 65535 }), fc.stringMatching(/^[a-z0-9/._-]{0,20}$/)).map(([scheme, port, p]) => `${scheme}://127.0.0.1:${port}/${p}`);
}

/** A path segment, already encoded for the request line (some raw traversal on purpose). */
export function hostileSegment(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: hostileString().map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd'))) },
    { weight: 2, arbitrary: fc.constantFrom('..', '.', '../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%00', '%zz', '%', '%E0%80%AF', '%C0%AE%C0%AE', '%ff%fe', 'a;b', 'a%3Fb', '~', '%2F') },
    { weight: 1, arbitrary: fc.nat({ max: 2000 }).map((n) => 'z'.repeat(n)) },
  );
}

/** Raw query-string values: wrong types, hostile text, garbage semver, cron and zones. */
export function hostileQueryValue(): fc.Arbitrary<string> {
  return fc.oneof(hostileSegment(), fc.constantFrom('1e309', '-5', '0', '1.5', '99999999999999999999', 'Mars/Olympus', '61 * * * *', 'not-a-semver', 'online,bogus', 'k:v:w', '', '2026-13-45T25:61:00Z'));
}

/** Registry push payloads (Docker Hub, GHCR `package` event) with hostile names and tags. */
export function registryPayload(): fc.Arbitrary<unknown> {
  const name = fc.oneof(fc.constantFrom('fz/app', 'acme/app', 'fz/fw'), hostileString().map((s) => s.slice(0, 300)));
  const tag = fc.oneof(fc.constantFrom('1.0.0', 'latest', 'v2'), hostileString().map((s) => s.slice(0, 300)));
  const dockerhub = fc.record({ push_data: fc.record({ tag, pusher: name }), repository: fc.oneof(fc.record({ repo_name: name }), fc.record({ namespace: name, name })), callback_url: fc.constant('http://127.0.0.1:9/cb') });
  const ghcr = fc.record({
    action: fc.constantFrom('published', 'updated', ''),
    package: fc.record({
      name,
      package_type: fc.constantFrom('container', 'CONTAINER', 'npm', 'docker'),
      owner: fc.record({ login: name }),
      package_version: fc.record({ version: fc.oneof(tag, fc.constant('sha256:' + 'a'.repeat(64))), container_metadata: fc.record({ tag: fc.record({ name: tag, digest: fc.constantFrom('sha256:' + 'b'.repeat(64), 'sha256:zz', '') }) }) }),
    }),
    sender: fc.record({ login: name }),
  });
  return fc.oneof(dockerhub, ghcr);
}
