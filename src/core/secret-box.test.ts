// The sealing of device credentials: round trip, a fresh IV each time, and no opening under another
// key, another context or after any change.
import { describe, expect, it } from 'vitest';
import { authProblems, redactSecrets, SecretBox, SecretOpenError, splitSecrets } from './index.js';

describe('SecretBox', () => {
  const box = SecretBox.ephemeral();

  it('opens what it sealed, and seals the same value differently each time', () => {
    const sealed = box.seal('tøken ✓', 'ctx');
    expect(sealed).toMatch(/^v1\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/);
    expect(box.open(sealed, 'ctx')).toBe('tøken ✓');
    expect(box.seal('tøken ✓', 'ctx')).not.toBe(sealed);
  });

  it('refuses another key, another context, and any altered part', () => {
    const sealed = box.seal('secret', 'device-a');
    expect(() => SecretBox.ephemeral().open(sealed, 'device-a')).toThrow(SecretOpenError);
    expect(() => box.open(sealed, 'device-b')).toThrow(SecretOpenError);
    const parts = sealed.split('.');
    for (let i = 1; i < parts.length; i++) {
      const altered = [...parts];
      altered[i] = (altered[i]![0] === 'A' ? 'B' : 'A') + altered[i]!.slice(1);
      expect(() => box.open(altered.join('.'), 'device-a')).toThrow(SecretOpenError);
    }
    expect(() => box.open('not sealed', 'device-a')).toThrow(SecretOpenError);
  });

  it('names its key by a stable id that does not reveal it', () => {
    const key = Buffer.alloc(32, 1);
    expect(new SecretBox(key).keyId).toBe(new SecretBox(Buffer.from(key)).keyId);
    expect(new SecretBox(key).keyId).not.toBe(SecretBox.ephemeral().keyId);
    expect(() => new SecretBox(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});

describe('device credentials in metadata', () => {
  it('splits values from "[set]" markers and shows only the keys', () => {
    expect(splitSecrets({ a: 1, auth: { bearerToken: 't', password: '[set]' } })).toEqual({ metadata: { a: 1, auth: { bearerToken: '[set]', password: '[set]' } }, values: { bearerToken: 't' }, kept: ['password'], keys: ['bearerToken', 'password'] });
    expect(splitSecrets({ a: 1 })).toEqual({ metadata: { a: 1 }, values: {}, kept: [], keys: [] });
  });

  it('refuses credentials that are not named strings, without echoing them', () => {
    expect(authProblems({ auth: null })).toEqual([]);
    expect(authProblems({ auth: 'x' })).toEqual([{ path: 'metadata.auth', message: expect.stringContaining('must be an object') }]);
    const problems = authProblems({ auth: { bearerToken: 42, ok: 'fine', '1bad': 'hidden-value', empty: '' } });
    expect(problems.map((p) => p.path)).toEqual(['metadata.auth.bearerToken', 'metadata.auth.1bad', 'metadata.auth.empty']);
    expect(JSON.stringify(problems)).not.toContain('hidden-value');
    expect(authProblems({ auth: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) })[0]!.message).toMatch(/at most 32/);
  });

  it('redacts a device, a patch or an import row, including a password in an address', () => {
    expect(redactSecrets({ id: 'd', address: 'ssh://u:pw@h:22/x', metadata: { auth: { password: 'pw' }, n: 1 } })).toEqual({ id: 'd', address: 'ssh://u@h:22/x', metadata: { auth: { password: '[set]' }, n: 1 } });
    expect(redactSecrets({ name: 'x' })).toEqual({ name: 'x' });
    expect(redactSecrets(null)).toBeNull();
  });
});
