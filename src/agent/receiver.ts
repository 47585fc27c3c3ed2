// The device-side push receiver (DESIGN.md "Push over HTTP"): accepts POST with the artifact as the
// body, streams it to a temporary file while hashing, verifies sha256 and (with a trusted key) the
// signature, then installs it atomically under DIR. It also takes delta pushes (receiver-delta.ts):
// OPTIONS says so, a chunk query answers what it lacks, and only those ranges are sent. Usable as a
// request listener or a server. With a log, each push is one line: update id, artifact
// name/version, sha256, result, duration.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { artifactFieldProblem, sameSecret, verifyArtifactSignature } from '../core/index.js';
import { ChunkCache } from './chunk-cache.js';
import { InstallDir, type InstalledArtifact } from './install-dir.js';
import type { AgentLog } from './log.js';
import { DELTA_PROTOCOL, DeltaRefusal, ReceiverDeltas } from './receiver-delta.js';

/** How the receiver is set up. */
export interface ReceiverOptions {
  /** Install directory (DIR/<name>-<version>, DIR/current). */
  dir: string;
  /** PEM ed25519 public key; when set, unsigned or wrongly signed artifacts are refused (403). */
  trustedKey?: string;
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** When set, X-Device-Id must equal it (a push meant for another device is refused). */
  deviceId?: string;
  /** Largest accepted body, bytes (default: unlimited). */
  maxBytes?: number;
  /** Called after an artifact is in place and current (install handlers); a throw answers 500. */
  onInstalled?: (artifact: InstalledArtifact & { updateId: string | null }) => Promise<void> | void;
  /** Where each push is logged (one line per push); none by default. */
  log?: AgentLog;
  /** Delta pushes (default on): false answers OPTIONS without X-Update-Deltas, so senders push whole. */
  deltas?: boolean;
  /** Smallest share of an artifact that must be held here to take a delta push (default 0.1). */
  deltaMinReuse?: number;
}

export interface ListenOptions {
  port: number;
  host?: string;
  /** HTTPS with this key/cert; `ca` + `requestClientCert` require client certificates (mTLS). */
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; requestClientCert?: boolean };
}

/** A started receiver. */
export interface RunningReceiver {
  receiver: Receiver;
  url: string;
  port: number;
  close(): Promise<void>;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export class Receiver {
  readonly install: InstallDir;
  readonly deltas: ReceiverDeltas | null;
  private readonly chunks: ChunkCache;

  constructor(private readonly options: ReceiverOptions) {
    this.install = new InstallDir(options.dir);
    this.chunks = new ChunkCache(path.join(options.dir, '.chunks'));
    this.deltas = options.deltas === false ? null : new ReceiverDeltas({ install: this.install, cache: this.chunks, trustedKey: options.trustedKey, minReuse: options.deltaMinReuse });
  }

  /** The node:http request listener. */
  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    this.serve(request, response).catch((error: unknown) => {
      if (!response.headersSent) this.answer(request, response, 500, { error: { code: 'internal', message: (error as Error).message } });
      else response.destroy();
    });
  };

  private answer(request: IncomingMessage, response: ServerResponse, status: number, body: unknown): void {
    const send = () => {
      if (response.writableEnded || response.destroyed) return;
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    // Answer only once the body is consumed: an early answer races the client's upload.
    if (request.complete || request.destroyed) send();
    else {
      request.once('end', send);
      request.resume();
    }
  }

  private headers(request: IncomingMessage) {
    const h = request.headers;
    const name = one(h['x-artifact-name']);
    const version = one(h['x-artifact-version']);
    const sha256 = one(h['x-artifact-sha256'])?.toLowerCase();
    const nameProblem = artifactFieldProblem('name', name) ?? artifactFieldProblem('version', version);
    if (nameProblem) throw new Refusal(400, 'bad_headers', `X-Artifact-Name / X-Artifact-Version: ${nameProblem}`);
    if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) throw new Refusal(400, 'bad_headers', 'X-Artifact-Sha256 must be the 64-hex-digit sha256 of the body');
    const deviceId = one(h['x-device-id']);
    if (this.options.deviceId && deviceId !== this.options.deviceId) throw new Refusal(400, 'wrong_device', `this is device '${this.options.deviceId}', the push is for '${deviceId ?? '(none)'}'`);
    const length = Number(one(h['content-length']) ?? NaN);
    if (this.options.maxBytes !== undefined && Number.isFinite(length) && length > this.options.maxBytes) throw new Refusal(413, 'too_large', `the artifact is larger than ${this.options.maxBytes} bytes`);
    return { name: name!, version: version!, sha256, signature: one(h['x-artifact-signature']) ?? null, updateId: one(h['x-update-id']) ?? null };
  }

  private checkAuth(request: IncomingMessage): void {
    if (!this.options.token) return;
    const header = request.headers.authorization ?? '';
    // Constant time: how long a refusal takes says nothing about how much of a guess was right.
    if (!header.startsWith('Bearer ') || !sameSecret(header.slice('Bearer '.length), this.options.token)) throw new Refusal(401, 'unauthorized', 'a valid bearer token is required');
  }

  private checkSignature(meta: { name: string; version: string; sha256: string; signature: string | null }): void {
    if (!this.options.trustedKey) return;
    if (!meta.signature) throw new Refusal(403, 'unsigned', 'this device accepts only signed artifacts (X-Artifact-Signature)');
    if (!verifyArtifactSignature(meta, meta.signature, this.options.trustedKey)) throw new Refusal(403, 'bad_signature', `the signature does not verify for ${meta.name} ${meta.version} (${meta.sha256}) with this device's trusted key`);
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const h = request.headers;
    // What the push claims, for the log line (the headers may be the reason it is refused).
    const claimed = { update: one(h['x-update-id']) ?? null, artifact: `${one(h['x-artifact-name']) ?? '?'}-${one(h['x-artifact-version']) ?? '?'}`, sha256: one(h['x-artifact-sha256']) ?? null };
    const answer = (status: number, body: unknown, result: string, bytes?: number) => {
      this.answer(request, response, status, body);
      const fields = { ...claimed, result, status, bytes, duration_ms: Math.round(performance.now() - started) };
      if (status < 300) this.options.log?.info('push install', fields);
      else this.options.log?.warn('push install', { ...fields, reason: (body as { error?: { message?: string } }).error?.message });
    };
    let meta: ReturnType<Receiver['headers']>;
    try {
      if (request.method === 'OPTIONS') {
        this.checkAuth(request);
        const headers: Record<string, string> = { allow: 'POST, OPTIONS' };
        if (this.deltas) headers['x-update-deltas'] = DELTA_PROTOCOL;
        response.writeHead(204, headers).end();
        return;
      }
      if (request.method !== 'POST') throw new Refusal(405, 'method_not_allowed', 'push artifacts with POST');
      this.checkAuth(request);
      meta = this.headers(request);
      // The signature covers the claimed hash, so it is checked before any byte is written.
      this.checkSignature(meta);
    } catch (error) {
      if (error instanceof Refusal) return answer(error.status, { error: { code: error.code, message: error.message } }, error.code);
      throw error;
    }
    const installed = await this.install.installedSha256(meta.name, meta.version);
    if (installed === meta.sha256) {
      await this.install.activate(meta.name, meta.version);
      return answer(208, { status: 'already-installed', name: meta.name, version: meta.version, sha256: meta.sha256 }, 'already-installed');
    }
    if (installed !== null) return answer(409, { error: { code: 'version_conflict', message: `${meta.name}-${meta.version} is installed with another sha256 (${installed})` } }, 'version_conflict');
    const query = one(h['x-chunk-query']);
    const session = one(h['x-chunk-session']);
    if ((query || session) && !this.deltas) return answer(404, { error: { code: 'deltas_off', message: 'this receiver takes whole artifacts only' } }, 'deltas_off');
    if (query || session) return this.serveDelta(request, meta, query ? null : session!, answer);

    const temp = this.install.tempFile();
    const hash = createHash('sha256');
    let bytes = 0;
    const max = this.options.maxBytes ?? Number.POSITIVE_INFINITY;
    const hasher = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > max) return done(new Refusal(413, 'too_large', `the artifact is larger than ${max} bytes`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(request, hasher, fs.createWriteStream(temp));
    } catch (error) {
      await fsp.rm(temp, { force: true });
      if (error instanceof Refusal) {
        response.setHeader('connection', 'close');
        return answer(error.status, { error: { code: error.code, message: error.message } }, error.code, bytes);
      }
      this.options.log?.warn('push install', { ...claimed, result: 'aborted', bytes, duration_ms: Math.round(performance.now() - started), reason: 'the sender went away mid-body' });
      return void response.destroy(); // the sender went away mid-body; nothing to answer
    }
    const actual = hash.digest('hex');
    if (actual !== meta.sha256) {
      await fsp.rm(temp, { force: true });
      return answer(422, { error: { code: 'sha256_mismatch', message: `the body hashes to ${actual}, not ${meta.sha256}; transfer corrupted` } }, 'sha256_mismatch', bytes);
    }
    const result = await this.install.install(temp, meta);
    try {
      await this.options.onInstalled?.({ ...result, updateId: meta.updateId });
    } catch (error) {
      return answer(500, { error: { code: 'install_failed', message: (error as Error).message } }, 'install_failed', bytes);
    }
    return answer(201, { status: 'installed', name: meta.name, version: meta.version, sha256: actual, bytes }, 'installed', bytes);
  }

  /** A chunk query (session null: answers the ranges this device lacks) or the ranges of a session (installs). */
  private async serveDelta(request: IncomingMessage, meta: ReturnType<Receiver['headers']>, session: string | null, answer: (status: number, body: unknown, result: string, bytes?: number) => void): Promise<void> {
    const deltas = this.deltas!;
    try {
      if (session === null) {
        const size = Number(one(request.headers['x-artifact-size']) ?? NaN);
        const plan = await deltas.query(request, meta, one(request.headers['x-artifact-index-signature']) ?? null, Number.isSafeInteger(size) ? size : null);
        return answer(200, plan, plan.mode === 'delta' ? 'delta-planned' : 'delta-declined');
      }
      const done = await deltas.receive(request, session, meta);
      const result = await this.install.install(done.temp, meta);
      await this.chunks.save(done.index).catch(() => undefined);
      try {
        await this.options.onInstalled?.({ ...result, updateId: meta.updateId });
      } catch (error) {
        return answer(500, { error: { code: 'install_failed', message: (error as Error).message } }, 'install_failed', done.received);
      }
      return answer(201, { status: 'installed', name: meta.name, version: meta.version, sha256: meta.sha256, bytes: done.received, reusedBytes: done.reused }, 'installed-delta', done.received);
    } catch (error) {
      if (error instanceof DeltaRefusal) return answer(error.status, { error: { code: error.code, message: error.message } }, error.code);
      throw error;
    }
  }

  /** Starts an HTTP (or HTTPS) server on the port; port 0 picks a free one. */
  async listen(options: ListenOptions): Promise<RunningReceiver> {
    const server = options.tls
      ? https.createServer({ key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: options.tls.requestClientCert ?? false, rejectUnauthorized: options.tls.requestClientCert ?? false }, this.handle)
      : http.createServer(this.handle);
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const host = !options.host || options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
    return {
      receiver: this,
      port,
      url: `${options.tls ? 'https' : 'http'}://${host}:${port}/`,
      close: () =>
        new Promise<void>((resolve) => {
          this.deltas?.close();
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
}

/** Creates a receiver and starts listening: what `orchestrator agent --listen PORT --dir DIR` runs. */
export async function startReceiver(options: ReceiverOptions & ListenOptions): Promise<RunningReceiver> {
  return new Receiver(options).listen(options);
}
