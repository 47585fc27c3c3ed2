// Promise wrappers over ssh2's callback API for the few SFTP and exec operations a delivery needs,
// each abortable: an abort closes the channel so nothing keeps running on the device.
import fs from 'node:fs';
import type { Client, SFTPWrapper, Stats } from 'ssh2';
import { DeliveryError } from '../transport.js';
import { abortable } from './connection-pool.js';

const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

/** Quotes a string for a POSIX shell. */
export const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** Maps an SFTP status error to a DeliveryError that names the remote path. */
export function sftpError(error: unknown, what: string): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const e = error as Error & { code?: number | string; syscall?: string };
  if (e.syscall) return new DeliveryError('artifact_missing', `cannot read the artifact file: ${e.message}`, false, { cause: error });
  if (e.code === SFTP_PERMISSION_DENIED) return new DeliveryError('permission', `${what}: permission denied on the device`, false, { cause: error });
  if (e.code === SFTP_NO_SUCH_FILE) return new DeliveryError('remote_path', `${what}: no such file or directory on the device`, false, { cause: error });
  return new DeliveryError('remote_failure', `${what}: ${e.message}`, true, { cause: error });
}

export function openSftp(client: Client, signal?: AbortSignal): Promise<SFTPWrapper> {
  return abortable(
    new Promise<SFTPWrapper>((resolve, reject) => {
      client.sftp((error, sftp) => (error ? reject(new DeliveryError('connection', `cannot open an SFTP session: ${error.message}`, true, { cause: error })) : resolve(sftp)));
    }),
    signal,
  );
}

type Cb<T> = (callback: (error: Error | null | undefined, value?: T) => void) => void;

/** Runs one SFTP call; an abort stops waiting for it (the session is shared, so it stays open). */
export function call<T>(sftp: SFTPWrapper, what: string, run: Cb<T>, signal?: AbortSignal): Promise<T> {
  const result = new Promise<T>((resolve, reject) => run((error, value) => (error ? reject(sftpError(error, what)) : resolve(value as T))));
  result.catch(() => undefined); // an abandoned call may still fail later
  return abortable(result, signal);
}

/** The remote file's size, or null when it does not exist. */
export async function remoteSize(sftp: SFTPWrapper, path: string, signal?: AbortSignal): Promise<number | null> {
  try {
    const stats = await call<Stats>(sftp, `stat ${path}`, (cb) => sftp.stat(path, cb), signal);
    return stats.size;
  } catch (error) {
    if (error instanceof DeliveryError && error.code === 'remote_path') return null;
    throw error;
  }
}

/**
 * mkdir -p over SFTP. `knownMissing` skips the first stat when the caller already knows the
 * directory is absent. Round trips are what costs on a busy link: one mkdir when the parent exists.
 */
export async function mkdirp(sftp: SFTPWrapper, dir: string, signal?: AbortSignal, knownMissing = false): Promise<void> {
  if (!knownMissing && (await remoteSize(sftp, dir, signal)) !== null) return;
  try {
    await call(sftp, `mkdir ${dir}`, (cb) => sftp.mkdir(dir, cb), signal);
    return;
  } catch (error) {
    if ((await remoteSize(sftp, dir, signal)) !== null) return; // created meanwhile by another delivery
    const parent = dir.replace(/\/+[^/]+\/*$/, '');
    if (!parent || parent === dir) throw error;
    await mkdirp(sftp, parent, signal);
    await call(sftp, `mkdir ${dir}`, (cb) => sftp.mkdir(dir, cb), signal).catch(async (again: unknown) => {
      if ((await remoteSize(sftp, dir, signal)) === null) throw again;
    });
  }
}

/** Atomic replace: posix-rename@openssh.com, else unlink + rename on servers without it. */
export async function renameOver(sftp: SFTPWrapper, from: string, to: string, signal?: AbortSignal): Promise<void> {
  try {
    await call(sftp, `rename to ${to}`, (cb) => sftp.ext_openssh_rename(from, to, cb), signal);
  } catch (error) {
    if (!/not supported|extension/i.test((error as Error).message)) throw error;
    await call(sftp, `unlink ${to}`, (cb) => sftp.unlink(to, cb), signal).catch(() => undefined);
    await call(sftp, `rename to ${to}`, (cb) => sftp.rename(from, to, cb), signal);
  }
}

/** Runs a command on the device; answers its exit code, stdout and stderr (each capped). */
export function exec(client: Client, command: string, signal?: AbortSignal): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return abortable(
    new Promise((resolve, reject) => {
      client.exec(command, (error, stream) => {
        if (error) return reject(new DeliveryError('connection', `cannot run a command on the device: ${error.message}`, true, { cause: error }));
        let stdout = '';
        let stderr = '';
        const onAbort = () => stream.close();
        signal?.addEventListener('abort', onAbort, { once: true });
        stream.on('data', (chunk: Buffer) => {
          if (stdout.length < 65536) stdout += chunk.toString('utf8');
        });
        stream.stderr.on('data', (chunk: Buffer) => {
          if (stderr.length < 4096) stderr += chunk.toString('utf8');
        });
        stream.on('close', (code: number | null) => {
          signal?.removeEventListener('abort', onAbort);
          resolve({ code, stdout, stderr: stderr.trim() });
        });
      });
    }),
    signal,
  );
}

/**
 * Streams a local file into a new remote file with up to `inFlight` write requests outstanding.
 * The file is read in large chunks (few thread-pool round trips) and sent in `requestSize` slices,
 * which keeps the SSH window full without one local read per request (as fastPut does).
 */
export async function putFile(sftp: SFTPWrapper, localPath: string, remotePath: string, options: { signal?: AbortSignal; onProgress?: (sent: number) => void; requestSize?: number; inFlight?: number }): Promise<{ bytes: number; closed: Promise<unknown> }> {
  // 128 KiB requests, 32 in flight: 4 MiB queued keeps OpenSSH's 2 MiB channel window always full.
  const requestSize = options.requestSize ?? 128 * 1024;
  const maxInFlight = options.inFlight ?? 32;
  const handle = await call<Buffer>(sftp, `create ${remotePath}`, (cb) => sftp.open(remotePath, 'w', 0o644, cb), options.signal);
  let position = 0;
  let acked = 0;
  let pending = 0;
  let failure: DeliveryError | null = null;
  let wake: (() => void) | null = null;
  const settle = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  // An abort wakes the loop, which stops sending and closes the handle; writes in flight finish.
  const onAbort = () => settle();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const file = fs.createReadStream(localPath, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of file as AsyncIterable<Buffer>) {
      for (let offset = 0; offset < chunk.length; offset += requestSize) {
        while (pending >= maxInFlight && !failure && !options.signal?.aborted) await new Promise<void>((resolve) => (wake = resolve));
        if (failure) throw failure;
        if (options.signal?.aborted) throw abortReason(options.signal);
        const length = Math.min(requestSize, chunk.length - offset);
        pending++;
        sftp.write(handle, chunk, offset, length, position, (error) => {
          pending--;
          if (error) failure ??= sftpError(error, `write to ${remotePath}`);
          else {
            acked += length;
            options.onProgress?.(acked);
          }
          settle();
        });
        position += length;
      }
    }
    while (pending > 0 && !failure && !options.signal?.aborted) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) throw failure;
    if (options.signal?.aborted) throw abortReason(options.signal);
    // The close is not awaited here: the server handles requests in order, so a following rename
    // (sent at once) sees the closed file; the caller awaits the returned promise with it.
    const closed = call(sftp, `close ${remotePath}`, (cb) => sftp.close(handle, cb), options.signal);
    closed.catch(() => undefined);
    return { bytes: position, closed };
  } catch (error) {
    file.destroy();
    sftp.close(handle, () => undefined);
    if (options.signal?.aborted) throw abortReason(options.signal);
    const e = error as NodeJS.ErrnoException;
    if (e.syscall) throw new DeliveryError('artifact_missing', `cannot read the artifact file: ${e.message}`, false, { cause: error });
    throw error instanceof DeliveryError ? error : sftpError(error, `upload to ${remotePath}`);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function abortReason(signal: AbortSignal): DeliveryError {
  return signal.reason instanceof DeliveryError ? signal.reason : new DeliveryError('aborted', 'the delivery was aborted', true);
}
