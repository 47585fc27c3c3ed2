// The device's install directory: DIR/<name>-<version> holds each installed artifact, DIR/current
// is a symlink to the active one, and DIR/.installed/<name>-<version>.sha256 records what is there.
// Every change is a rename, so a crash leaves either the old or the new state, never half of one.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** One installed artifact. */
export interface InstalledArtifact {
  name: string;
  version: string;
  sha256: string;
  /** Absolute path of the installed file. */
  path: string;
}

export class InstallDir {
  readonly markers: string;
  readonly tmp: string;

  constructor(readonly dir: string) {
    this.markers = path.join(dir, '.installed');
    this.tmp = path.join(dir, '.tmp');
    fs.mkdirSync(this.markers, { recursive: true });
    fs.mkdirSync(this.tmp, { recursive: true });
  }

  /** Path of DIR/<name>-<version>; name and version must already be validated (no slashes). */
  fileFor(name: string, version: string): string {
    return path.join(this.dir, `${name}-${version}`);
  }

  /** A fresh temporary file path on the same filesystem as the final location. */
  tempFile(): string {
    return path.join(this.tmp, `${randomUUID()}.part`);
  }

  /** The sha256 recorded for name-version, or null when it is not installed. */
  async installedSha256(name: string, version: string): Promise<string | null> {
    try {
      const text = (await fsp.readFile(path.join(this.markers, `${name}-${version}.sha256`), 'utf8')).trim();
      await fsp.access(this.fileFor(name, version));
      return text;
    } catch {
      return null;
    }
  }

  /** Moves a verified temporary file into place, records its hash and makes it current. */
  async install(tempFile: string, artifact: { name: string; version: string; sha256: string }): Promise<InstalledArtifact> {
    const final = this.fileFor(artifact.name, artifact.version);
    await fsp.rename(tempFile, final);
    const marker = path.join(this.markers, `${artifact.name}-${artifact.version}.sha256`);
    const markerTmp = this.tempFile();
    await fsp.writeFile(markerTmp, artifact.sha256 + '\n');
    await fsp.rename(markerTmp, marker);
    await this.activate(artifact.name, artifact.version);
    return { ...artifact, path: final };
  }

  /** Points DIR/current at name-version (relative symlink, swapped in with a rename). */
  async activate(name: string, version: string): Promise<void> {
    const link = this.tempFile();
    await fsp.symlink(`${name}-${version}`, link);
    await fsp.rename(link, path.join(this.dir, 'current'));
  }

  /** The file name DIR/current points at, or null. */
  async current(): Promise<string | null> {
    try {
      return await fsp.readlink(path.join(this.dir, 'current'));
    } catch {
      return null;
    }
  }
}
