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
  createdAt: string;
}
