// Artifact signatures: the exact messages an ed25519 signature covers, and sign/verify over them.
// Pure computation (node:crypto, no I/O) so the server, the CLI and the device agent share it.
// Two messages, both by the same key: the artifact signature (v1: name, version, sha256), which
// every device and receiver has always checked and still does, and the index signature, which
// binds the artifact's chunk index (by its digest) to the same name, version and sha256. Old
// signatures stay valid; an artifact without an index signature is delivered whole.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/** The fields a signature binds together: replaying a signature under another name or version fails. */
export interface SignedFields {
  name: string;
  version: string;
  /** Lower-case hex sha256 of the artifact's bytes. */
  sha256: string;
}

const DOMAIN = 'update-orchestrator/artifact/v1';

/** The bytes that get signed: a domain tag, then name, version and sha256, newline separated. */
export function signedMessage(fields: SignedFields): Buffer {
  for (const [key, value] of Object.entries(fields)) {
    if (value.includes('\n')) throw new Error(`artifact ${key} must not contain a newline`);
  }
  return Buffer.from(`${DOMAIN}\n${fields.name}\n${fields.version}\n${fields.sha256.toLowerCase()}`, 'utf8');
}

/** An artifact's fields plus the digest of its chunk index (src/core/chunk-index.ts). */
export interface SignedIndexFields extends SignedFields {
  /** Lower-case hex sha256 of the canonical encoding of the chunk index. */
  indexSha256: string;
}

const INDEX_DOMAIN = 'update-orchestrator/artifact-index/v1';

/** The bytes an index signature covers: its own domain tag, name, version, sha256, index digest. */
export function signedIndexMessage(fields: SignedIndexFields): Buffer {
  const { indexSha256, ...artifact } = fields;
  if (!/^[0-9a-fA-F]{64}$/.test(indexSha256)) throw new Error('the index digest must be 64 hex digits');
  const base = signedMessage(artifact).toString('utf8').slice(DOMAIN.length);
  return Buffer.from(`${INDEX_DOMAIN}${base}\n${indexSha256.toLowerCase()}`, 'utf8');
}

/** Signs the artifact's chunk index; answers the base64 signature. */
export function signArtifactIndex(fields: SignedIndexFields, privateKey: string | KeyObject): string {
  return sign(null, signedIndexMessage(fields), asPrivateKey(privateKey)).toString('base64');
}

/** True when `signature` (base64) signs this index digest for these artifact fields with this key. */
export function verifyArtifactIndexSignature(fields: SignedIndexFields, signature: string, publicKey: string | KeyObject): boolean {
  const raw = Buffer.from(signature, 'base64');
  if (raw.length !== 64) return false;
  try {
    return verify(null, signedIndexMessage(fields), parsePublicKey(publicKey), raw);
  } catch {
    return false;
  }
}

/** A fresh ed25519 key pair as PEM (PKCS#8 private, SPKI public). */
export function generateSigningKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function asPrivateKey(key: string | KeyObject): KeyObject {
  const object = typeof key === 'string' ? createPrivateKey(key) : key;
  if (object.asymmetricKeyType !== 'ed25519') throw new Error(`signing key must be ed25519, got ${object.asymmetricKeyType ?? 'a symmetric key'}`);
  return object;
}

/** Parses an ed25519 public key from PEM; throws a readable error for anything else. */
export function parsePublicKey(key: string | KeyObject): KeyObject {
  const object = typeof key === 'string' ? createPublicKey(key) : key;
  if (object.asymmetricKeyType !== 'ed25519') throw new Error(`public key must be ed25519, got ${object.asymmetricKeyType ?? 'something else'}`);
  return object;
}

/** The public half of a private key, as SPKI PEM. */
export function publicKeyOf(privateKey: string | KeyObject): string {
  return createPublicKey(asPrivateKey(privateKey)).export({ type: 'spki', format: 'pem' }).toString();
}

/** Signs the artifact's fields; answers the base64 signature. */
export function signArtifact(fields: SignedFields, privateKey: string | KeyObject): string {
  return sign(null, signedMessage(fields), asPrivateKey(privateKey)).toString('base64');
}

/** True when `signature` (base64) is a valid signature of these fields by this public key. */
export function verifyArtifactSignature(fields: SignedFields, signature: string, publicKey: string | KeyObject): boolean {
  const raw = Buffer.from(signature, 'base64');
  if (raw.length !== 64) return false;
  try {
    return verify(null, signedMessage(fields), parsePublicKey(publicKey), raw);
  } catch {
    return false;
  }
}

/** A short, stable identifier of a public key: "ed25519:" + hex sha256 of its DER, first 16 bytes. */
export function keyFingerprint(publicKey: string | KeyObject): string {
  const der = parsePublicKey(publicKey).export({ type: 'spki', format: 'der' });
  return 'ed25519:' + createHash('sha256').update(der).digest('hex').slice(0, 32);
}
