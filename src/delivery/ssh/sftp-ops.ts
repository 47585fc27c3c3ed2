// Promise wrappers over ssh2's callback API for the few SFTP and exec operations a delivery needs,
// each abortable: an abort closes the channel so nothing keeps running on the device.
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

/** Runs one SFTP call; an abort ends the SFTP channel, which fails the call. */
export function call<T>(sftp: SFTPWrapper, what: string, run: Cb<T>, signal?: AbortSignal): Promise<T> {
  const onAbort = () => sftp.end();
  signal?.addEventListener('abort', onAbort, { once: true });
  return abortable(
    new Promise<T>((resolve, reject) => run((error, value) => (error ? reject(sftpError(error, what)) : resolve(value as T)))),
    signal,
  ).finally(() => signal?.removeEventListener('abort', onAbort));
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

/** mkdir -p over SFTP (one stat when the directory exists already). */
export async function mkdirp(sftp: SFTPWrapper, dir: string, signal?: AbortSignal): Promise<void> {
  if ((await remoteSize(sftp, dir, signal)) !== null) return;
  const parts = dir.split('/').filter(Boolean);
  let current = dir.startsWith('/') ? '' : '.';
  for (const part of parts) {
    current = `${current}/${part}`;
    if ((await remoteSize(sftp, current, signal)) !== null) continue;
    try {
      await call(sftp, `mkdir ${current}`, (cb) => sftp.mkdir(current, cb), signal);
    } catch (error) {
      // Another delivery may have created it meanwhile.
      if ((await remoteSize(sftp, current, signal)) === null) throw error;
    }
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
