// Artifact bytes for the protocol adapters: the file behind an artifact (sent with http/send-file.ts),
// and the sha1/md5 hashes hawkBit clients expect (computed once by streaming the file, then stored).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { ArtifactService } from '../artifacts/index.js';
import { ValidationError, type Artifact } from '../core/index.js';
import type { HawkbitRepository } from '../store/index.js';

/** The path of an artifact's bytes; image references have none. */
export async function artifactFile(artifacts: ArtifactService, artifactId: string): Promise<string> {
  const stored = await artifacts.getStored(artifactId);
  const file = artifacts.filePath(stored);
  if (!file) throw new ValidationError(`artifact '${artifactId}' is an image reference (${stored.imageRef}); hawkBit and Mender devices need a file artifact`);
  return file;
}

/** sha1 and md5 of an artifact, computed on first use and kept in the store. */
export async function legacyHashes(hawkbit: HawkbitRepository, artifacts: ArtifactService, artifact: Artifact, now: number): Promise<{ sha1: string; md5: string }> {
  const known = await hawkbit.artifactHashes(artifact.id);
  if (known) return known;
  const sha1 = createHash('sha1');
  const md5 = createHash('md5');
  for await (const chunk of fs.createReadStream(await artifactFile(artifacts, artifact.id))) {
    sha1.update(chunk as Buffer);
    md5.update(chunk as Buffer);
  }
  const hashes = { sha1: sha1.digest('hex'), md5: md5.digest('hex') };
  await hawkbit.saveArtifactHashes(artifact.id, hashes, now);
  return hashes;
}
