// The secrets key file: made once (0600, whole, never half-written), then read; a file that does
// not hold a key stops the start with its name.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSecretsKey } from './key-file.js';

describe('the secrets key file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-key-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is created 0600 on first use and read back the same after', () => {
    const file = path.join(dir, 'nested', 'secrets.key');
    const first = openSecretsKey(file);
    expect(first).toMatchObject({ created: true, readableByOthers: false });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['secrets.key']);
    const again = openSecretsKey(file);
    expect(again.created).toBe(false);
    expect(again.box.keyId).toBe(first.box.keyId);
  });

  it('refuses a file that does not hold a key, naming it, and says when others may read it', () => {
    const bad = path.join(dir, 'bad.key');
    fs.writeFileSync(bad, 'not-a-key\n', { mode: 0o600 });
    expect(() => openSecretsKey(bad)).toThrow(new RegExp(`secrets key file '${bad}' does not hold a key: it must be 32 bytes in base64`));
    const loose = path.join(dir, 'loose.key');
    fs.writeFileSync(loose, Buffer.alloc(32, 3).toString('base64'), { mode: 0o644 });
    fs.chmodSync(loose, 0o644);
    expect(openSecretsKey(loose).readableByOthers).toBe(true);
  });
});
