import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair, keyFingerprint, publicKeyOf, signArtifact, signArtifactIndex, signedIndexMessage, signedMessage, verifyArtifactIndexSignature, verifyArtifactSignature } from './signature.js';

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

  it('signs the chunk index separately: bound to the artifact, not interchangeable with its signature', () => {
    const indexed = { ...fields, indexSha256: 'c'.repeat(64) };
    const indexSignature = signArtifactIndex(indexed, keys.privateKeyPem);
    expect(verifyArtifactIndexSignature(indexed, indexSignature, keys.publicKeyPem)).toBe(true);
    expect(verifyArtifactIndexSignature({ ...indexed, indexSha256: 'd'.repeat(64) }, indexSignature, keys.publicKeyPem)).toBe(false);
    expect(verifyArtifactIndexSignature({ ...indexed, version: '9' }, indexSignature, keys.publicKeyPem)).toBe(false);
    expect(verifyArtifactIndexSignature(indexed, indexSignature, other.publicKeyPem)).toBe(false);
    // Neither signature passes for the other message.
    expect(verifyArtifactSignature(fields, indexSignature, keys.publicKeyPem)).toBe(false);
    expect(verifyArtifactIndexSignature(indexed, signArtifact(fields, keys.privateKeyPem), keys.publicKeyPem)).toBe(false);
    expect(signedIndexMessage(indexed).toString()).toBe(`update-orchestrator/artifact-index/v1\nfirmware\n1.2.3\n${'a'.repeat(64)}\n${'c'.repeat(64)}`);
    expect(() => signedIndexMessage({ ...fields, indexSha256: 'nope' })).toThrow(/64 hex/);
  });

  it('keeps version 1 signatures valid (the message is unchanged)', () => {
    expect(signedMessage(fields).toString()).toBe(`update-orchestrator/artifact/v1\nfirmware\n1.2.3\n${'a'.repeat(64)}`);
  });
});
