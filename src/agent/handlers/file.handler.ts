// The `file` handler: A/B slots in the agent directory (DIR/slot-a, DIR/slot-b). The new release
// goes into the slot not in use, then DIR/current (a symlink to the file) is switched atomically
// by renaming a new symlink over it. The previous slot is kept for rollback.
import fs from 'node:fs';
import path from 'node:path';
import type { TargetUpdate } from '../../core/index.js';
import { syncDir } from '../state.js';
import type { InstalledRelease } from '../state.js';
import { InstallError, type InstallContext, type InstallHandler } from './handler.js';

/** A safe file name for the installed artifact (settings.fileName, else name-version). */
export function installedFileName(update: TargetUpdate): string {
  const wanted = typeof update.install.settings.fileName === 'string' ? update.install.settings.fileName : `${update.name}-${update.version}`;
  const safe = path.basename(wanted).replace(/[^\w.@+-]/g, '_');
  if (!safe || safe === '.' || safe === '..') throw new InstallError(`cannot use '${wanted}' as a file name`);
  return safe;
}

export class FileHandler implements InstallHandler {
  constructor(readonly dir: string) {}

  /** Copies the file into the free slot and switches DIR/current to it. */
  async install(ctx: InstallContext): Promise<InstalledRelease> {
    const release = await this.place(ctx);
    await this.activate(release);
    return release;
  }

  /** Puts the file into the free slot without switching (the script handler activates later). */
  async place(ctx: InstallContext): Promise<InstalledRelease> {
    if (!ctx.file) throw new InstallError('the file handler needs a downloaded file');
    const slot = ctx.current?.slot === 'a' ? 'b' : 'a';
    const slotDir = path.join(this.dir, `slot-${slot}`);
    await fs.promises.rm(slotDir, { recursive: true, force: true });
    await fs.promises.mkdir(slotDir, { recursive: true });
    const name = installedFileName(ctx.update);
    const tmp = path.join(slotDir, `.${name}.tmp`);
    await fs.promises.copyFile(ctx.file, tmp);
    const handle = await fs.promises.open(tmp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (typeof ctx.update.install.settings.mode === 'string') await fs.promises.chmod(tmp, Number.parseInt(ctx.update.install.settings.mode, 8));
    await fs.promises.rename(tmp, path.join(slotDir, name));
    await syncDir(slotDir);
    const { update } = ctx;
    return { name: update.name, version: update.version, sha256: update.sha256, handler: 'file', slot, file: path.join(`slot-${slot}`, name), imageRef: null, executionId: update.executionId };
  }

  /** Points DIR/current at the release's file, atomically. */
  async activate(release: InstalledRelease): Promise<void> {
    if (!release.file) throw new InstallError(`release ${release.name} ${release.version} has no file to activate`);
    const link = path.join(this.dir, 'current');
    const tmp = path.join(this.dir, `.current.tmp-${process.pid}`);
    await fs.promises.rm(tmp, { force: true });
    await fs.promises.symlink(release.file, tmp);
    await fs.promises.rename(tmp, link);
    await syncDir(this.dir);
  }

  async rollback(to: InstalledRelease | null): Promise<void> {
    if (to?.file) await this.activate(to);
    else await fs.promises.rm(path.join(this.dir, 'current'), { force: true });
  }
}
