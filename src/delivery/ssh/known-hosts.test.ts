import { createHmac, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostEntryName, keyTypeOf, KnownHosts } from './known-hosts.js';

function sshBlob(type: string, body: Buffer): Buffer {
  const t = Buffer.from(type);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(t.length);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([head, t, len, body]);
}
const ed = () => sshBlob('ssh-ed25519', generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));

describe('KnownHosts', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-kh-'));
  const a = ed();
  const b = ed();

  it('names hosts like OpenSSH and reads the key type', () => {
    expect(hostEntryName('h', 22)).toBe('h');
    expect(hostEntryName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
    expect(keyTypeOf(a)).toBe('ssh-ed25519');
  });

  it('knows, refuses changed keys, reports unknown hosts and honours hashed and wildcard entries', () => {
    const file = path.join(dir, 'known_hosts');
    const salt = Buffer.from('0123456789abcdef0123');
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[hashed.example]:2200').digest('base64')}`;
    fs.writeFileSync(file, ['# comment', `[127.0.0.1]:2222 ssh-ed25519 ${a.toString('base64')}`, `${hashed} ssh-ed25519 ${b.toString('base64')}`, `*.fleet.example,!bad.fleet.example ssh-ed25519 ${a.toString('base64')}`, `@revoked * ssh-ed25519 ${sshBlob('ssh-ed25519', Buffer.alloc(32, 9)).toString('base64')}`].join('\n'));
    const kh = new KnownHosts(file);
    expect(kh.check('127.0.0.1', 2222, a)).toBe('known');
    expect(kh.check('127.0.0.1', 2222, b)).toBe('changed');
    expect(kh.check('127.0.0.1', 22, a)).toBe('unknown');
    expect(kh.check('hashed.example', 2200, b)).toBe('known');
    expect(kh.check('hashed.example', 2200, a)).toBe('changed');
    expect(kh.check('kiosk1.fleet.example', 22, a)).toBe('known');
    expect(kh.check('bad.fleet.example', 22, a)).toBe('unknown');
    expect(kh.check('anything', 22, sshBlob('ssh-ed25519', Buffer.alloc(32, 9)))).toBe('revoked');
    expect(kh.typesFor('127.0.0.1', 2222)).toEqual(['ssh-ed25519']);
  });

  it('appends a first-use key that is then known', () => {
    const kh = new KnownHosts(path.join(dir, 'sub', 'tofu_hosts'));
    expect(kh.check('10.0.0.1', 22, a)).toBe('unknown');
    kh.add('10.0.0.1', 22, a);
    expect(kh.check('10.0.0.1', 22, a)).toBe('known');
    expect(kh.check('10.0.0.1', 22, b)).toBe('changed');
    expect(fs.statSync(kh.file).mode & 0o777).toBe(0o600);
  });
});
