// The script handler with real shell commands in a temporary agent directory: a command sent by
// the server runs only with --allow-server-commands, a configured command wins over it, and a
// script that times out or exits non-zero fails the install and leaves DIR/current where it was.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TargetUpdate } from '../../core/index.js';
import { silentLog } from '../log.js';
import type { InstalledRelease } from '../state.js';
import { InstallError } from './handler.js';
import { ScriptHandler } from './script.handler.js';

const update = (version: string, settings: TargetUpdate['install']['settings'] = {}): TargetUpdate => ({
  executionId: `e-${version}`, rolloutId: 'r1', artifactId: `a-${version}`, name: 'kiosk', version, sha256: null, size: 0, signature: null, imageRef: null,
  downloadUrl: null, install: { handler: 'script', settings }, healthChecks: [],
});

describe('script handler', () => {
  let dir: string;
  let downloads: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-script-'));
    downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-script-dl-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(downloads, { recursive: true, force: true });
  });

  /** A verified download of `version` as the agent hands it to the handler. */
  const downloaded = (version: string) => {
    const file = path.join(downloads, `kiosk-${version}.bin`);
    fs.writeFileSync(file, `kiosk build ${version}\n`);
    return file;
  };
  const install = (handler: ScriptHandler, version: string, settings: TargetUpdate['install']['settings'] = {}, current: InstalledRelease | null = null) =>
    handler.install({ update: update(version, settings), file: downloaded(version), current, log: silentLog });
  const current = () => (fs.existsSync(path.join(dir, 'current')) ? fs.readFileSync(path.join(dir, 'current'), 'utf8') : null);

  it('refuses a command sent by the server without --allow-server-commands: nothing runs, nothing is placed', async () => {
    const marker = path.join(downloads, 'server-command-ran');
    const strict = new ScriptHandler({ dir, allowServerCommands: false });
    const error = await install(strict, '2.0.0', { command: `touch ${marker}` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstallError);
    expect((error as Error).message).toMatch(/asks to run a command; this agent runs server-provided commands only with --allow-server-commands/);
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
    // Without any command at all the handler says where one comes from.
    await expect(install(strict, '2.0.0')).rejects.toThrow(/needs a command: agent --script-command, or install.settings.command with --allow-server-commands/);
  });

  it('runs the server command when allowed, with the file path, then switches DIR/current', async () => {
    const seen = path.join(downloads, 'seen');
    const allowing = new ScriptHandler({ dir, allowServerCommands: true });
    const release = await install(allowing, '2.0.0', { command: `cat {file} > ${seen}; printf '%s %s' "$ARTIFACT_NAME" "$ARTIFACT_VERSION" >> ${seen}` });
    expect(release).toMatchObject({ handler: 'script', version: '2.0.0', slot: 'a' });
    expect(fs.readFileSync(seen, 'utf8')).toBe('kiosk build 2.0.0\nkiosk 2.0.0');
    expect(current()).toBe('kiosk build 2.0.0\n');
  });

  it('runs its configured command instead of the one the server sends, even when server commands are refused', async () => {
    const configured = path.join(downloads, 'configured-ran');
    const server = path.join(downloads, 'server-ran');
    const handler = new ScriptHandler({ dir, command: `cp {file} ${configured}`, allowServerCommands: false });
    await install(handler, '2.0.0', { command: `touch ${server}` });
    expect(fs.readFileSync(configured, 'utf8')).toBe('kiosk build 2.0.0\n');
    expect(fs.existsSync(server)).toBe(false);
  });

  it('fails a script that exits non-zero with its code and output, keeping the running release', async () => {
    const handler = new ScriptHandler({ dir, command: 'test -f {file} && case {version} in 3.*) echo "flash: no space left on device" >&2; exit 7;; esac', allowServerCommands: false });
    const v2 = await install(handler, '2.0.0');
    const error = await install(handler, '3.0.0', {}, v2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstallError);
    expect((error as Error).message).toBe('install script exited with 7: flash: no space left on device');
    expect(current()).toBe('kiosk build 2.0.0\n');
  });

  // The script and a child it started sleep far longer than the test may run: the install can only
  // end in time if the timeout kills the whole process group.
  it('kills a script that outlives its timeout, with its children, and keeps the running release', async () => {
    const started = path.join(downloads, 'started');
    const handler = new ScriptHandler({ dir, command: `test -f {file} && case {version} in 3.*) touch ${started}; sleep 600 & wait;; esac`, allowServerCommands: false, defaultTimeoutSeconds: 600 });
    const v2 = await install(handler, '2.0.0');
    const error = await install(handler, '3.0.0', { timeoutSeconds: 0.5 }, v2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstallError);
    expect((error as Error).message).toBe('install script timed out after 0.5s');
    expect(fs.existsSync(started)).toBe(true);
    expect(current()).toBe('kiosk build 2.0.0\n');
  }, 30_000);
});
