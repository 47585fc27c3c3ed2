import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair, keyFingerprint, publicKeyOf, signArtifact, signedMessage, verifyArtifactSignature } from './signature.js';

const fields = { name: 'firmware', version: '1.2.3', sha256: 'a'.repeat(64) };

describe('artifact signatures', () => {
  const keys = generateSigningKeyPair();
  const other = generateSigningKeyPair();

  it('verifies a signature made by the matching key', () => {
    const signature = signArtifact(fields, keys.privateKeyPem);
    expect(verifyArtifactSignature(fields, signature, keys.publicKeyPem)).toBe(true);
  });

  it('refuses the signature under another version, name or hash (no replay)', () => {
    const signature = signArtifact(fields, keys.privateKeyPem);
    expect(verifyArtifactSignature({ ...fields, version: '1.2.4' }, signature, keys.publicKeyPem)).toBe(false);
    expect(verifyArtifactSignature({ ...fields, name: 'firmwarf' }, signature, keys.publicKeyPem)).toBe(false);
    expect(verifyArtifactSignature({ ...fields, sha256: 'b'.repeat(64) }, signature, keys.publicKeyPem)).toBe(false);
  });

  it('refuses a signature from another key and garbage signatures', () => {
    const signature = signArtifact(fields, other.privateKeyPem);
    expect(verifyArtifactSignature(fields, signature, keys.publicKeyPem)).toBe(false);
    expect(verifyArtifactSignature(fields, 'bm90IGEgc2lnbmF0dXJl', keys.publicKeyPem)).toBe(false);
    expect(verifyArtifactSignature(fields, '', keys.publicKeyPem)).toBe(false);
  });

  it('keeps field boundaries unambiguous', () => {
    expect(() => signedMessage({ name: 'a', version: 'b\nc', sha256: 'x' })).toThrow(/newline/);
    expect(signedMessage(fields).toString()).toContain('\nfirmware\n1.2.3\n');
  });

  it('derives the public key and a stable fingerprint', () => {
    expect(publicKeyOf(keys.privateKeyPem)).toBe(keys.publicKeyPem);
    expect(keyFingerprint(keys.publicKeyPem)).toMatch(/^ed25519:[0-9a-f]{32}$/);
    expect(keyFingerprint(keys.publicKeyPem)).not.toBe(keyFingerprint(other.publicKeyPem));
  });
});
