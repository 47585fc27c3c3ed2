// Artifacts: the bytes (or container image reference) a rollout delivers.

export type ArtifactKind = 'file' | 'image';

export interface Artifact {
  id: string;
  name: string;
  version: string;
  kind: ArtifactKind;
  /** Hex sha256 of the bytes (file), or of the image digest when known (image). */
  sha256: string | null;
  size: number;
  contentType: string;
  /** base64 ed25519 signature over signedMessage(), or null when unsigned. */
  signature: string | null;
  /** `registry/repo:tag[@sha256:...]` for kind 'image'. */
  imageRef: string | null;
  metadata: Record<string, unknown>;
  /** The content-defined chunk index of a file artifact (for delta downloads), or null. */
  chunkIndex: ArtifactChunkIndex | null;
  createdAt: string;
}

/** What the artifact record says of its chunk index (the encoded index is served on the device API). */
export interface ArtifactChunkIndex {
  /** Hex sha256 of the encoded index: what the index signature covers and its ETag. */
  sha256: string;
  chunks: number;
  /** The chunking's average size, bytes (min is a quarter, max four times). */
  avgSize: number;
  /** Bytes of the encoded index (uncompressed). */
  bytes: number;
  /** base64 ed25519 signature over signedIndexMessage() by the artifact's signer, or null. */
  signature: string | null;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}$/;

/**
 * What is wrong with an artifact name or version, or null. Both end up in file names on devices
 * (DIR/<name>-<version>), so no slashes, spaces or leading dots.
 */
export function artifactFieldProblem(field: 'name' | 'version', value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return `${field} is required`;
  const pattern = field === 'name' ? NAME_PATTERN : VERSION_PATTERN;
  if (!pattern.test(value)) return `${field} '${value.slice(0, 80)}' must start with a letter or digit and use only letters, digits and . _ + - ${field === 'version' ? '~ ' : ''}(max ${field === 'name' ? 128 : 64} characters)`;
  return null;
}

/** A container image reference split into parts. */
export interface ImageRef {
  /** Registry host[:port], or null for Docker Hub's default. */
  registry: string | null;
  repository: string;
  tag: string | null;
  /** "sha256:<hex>" or null. */
  digest: string | null;
}

const HOST = /^(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+)(?::\d{1,5})?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Parses `[registry/]repo[/more]:tag[@sha256:...]`; a tag or a digest is required. Throws with a reason. */
export function parseImageRef(ref: string): ImageRef {
  if (ref.length > 512) throw new Error('an image reference is at most 512 characters');
  let rest = ref;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new Error(`digest '${digest}' must be sha256: followed by 64 lower-case hex digits`);
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new Error(`tag '${tag}' may use letters, digits, _ . - (max 128, not starting with . or -)`);
  }
  if (!tag && !digest) throw new Error(`image reference '${ref}' needs a tag (repo:tag) or a digest (repo@sha256:...)`);
  const parts = rest.split('/');
  let registry: string | null = null;
  if (parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift()!;
    if (!HOST.test(registry)) throw new Error(`registry '${registry}' is not a host[:port]`);
  }
  if (parts.length === 0 || !parts.every((p) => PATH_COMPONENT.test(p))) throw new Error(`repository '${parts.join('/')}' must be lower-case path components (a-z 0-9 . _ -) separated by /`);
  return { registry, repository: parts.join('/'), tag, digest };
}
