// Push over HTTP (DESIGN.md "Push over HTTP"): POST the artifact, streamed from disk, to the
// device's address. 200/201 delivered, 208 (or 409 "already installed") already-installed,
// other 4xx permanent, 5xx, 408, 429, timeouts and broken connections retryable. One delivery is
// one attempt: the engine retries under the rollout's RetryPolicy (backoff with jitter). Every
// connection's address is checked against the outbound deny list, in the socket's own lookup. A
// receiver that takes deltas (http-delta.ts) gets only the chunks it lacks; any other gets the whole file.
import fs from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import { outboundDenial, OutboundGuard } from '../../outbound/index.js';
import { probeDeltas, pushDelta } from './http-delta.js';
import { DELIVERY_ANSWER_CHARS, DeliveryError, type DeliveryRequest, type DeliveryResult, type Transport } from '../transport.js';

/**
 * Per-device credentials in device.metadata.auth: `{ bearerToken }` sends Authorization: Bearer;
 * `{ certFile, keyFile }` presents a client certificate (mTLS); `{ caFile }` trusts a private CA.
 */
export interface HttpDeviceAuth {
  bearerToken?: string;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}

export interface HttpTransportOptions {
  now?: () => number;
  /** PEM CA trusted for every https device (besides the system roots). */
  ca?: string;
  connectTimeoutMs?: number;
  /** Longest wait for the device's answer after the body was sent, and between body chunks. */
  responseTimeoutMs?: number;
  /** Addresses deliveries may not reach (default: link-local and cloud metadata). */
  outbound?: OutboundGuard;
  /** Delta pushes to receivers that offer them (default on). */
  deltas?: boolean;
  /** How long a receiver's answer to "do you take deltas?" is remembered, ms (default 10 minutes). */
  deltaProbeTtlMs?: number;
}

const TLS_CONFIG_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/;

function deviceAuth(metadata: Record<string, unknown>): HttpDeviceAuth {
  const auth = metadata.auth;
  if (auth === undefined || auth === null) return {};
  if (typeof auth !== 'object' || Array.isArray(auth)) throw new DeliveryError('bad_credentials', 'device metadata.auth must be an object like {"bearerToken": "..."} or {"certFile", "keyFile", "caFile"}', false);
  const out: HttpDeviceAuth = {};
  for (const key of ['bearerToken', 'certFile', 'keyFile', 'caFile'] as const) {
    const value = (auth as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') throw new DeliveryError('bad_credentials', `device metadata.auth.${key} must be a non-empty string`, false);
    out[key] = value;
  }
  if (Boolean(out.certFile) !== Boolean(out.keyFile)) throw new DeliveryError('bad_credentials', 'device metadata.auth needs both certFile and keyFile for a client certificate', false);
  return out;
}

/** The start of an answer body; the rest is not read (the connection is dropped instead). */
async function readSome(body: Dispatcher.ResponseData['body'], limit = 4096): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length >= limit) {
      body.destroy();
      break;
    }
  }
  return text.slice(0, limit);
}

function deviceMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string }; message?: string };
    return parsed.error?.message ?? parsed.message ?? text;
  } catch {
    return text;
  }
}

export class HttpTransport implements Transport {
  readonly name = 'http';
  private readonly agents = new Map<string, Agent>();
  /** Receiver URL -> whether it takes delta pushes, and when that was asked. */
  private readonly deltaSupport = new Map<string, { ok: boolean; at: number }>();
  private readonly now: () => number;
  private readonly outbound: OutboundGuard;

  constructor(private readonly options: HttpTransportOptions = {}) {
    this.outbound = options.outbound ?? OutboundGuard.fromEntries();
    this.now = options.now ?? Date.now;
  }

  /** One connection pool per distinct TLS setup; devices without client certificates share one. */
  private agentFor(auth: HttpDeviceAuth): Agent {
    const key = `${auth.certFile ?? ''}|${auth.keyFile ?? ''}|${auth.caFile ?? ''}`;
    let agent = this.agents.get(key);
    if (!agent) {
      let tls: { cert?: Buffer; key?: Buffer; ca?: (string | Buffer)[] };
      try {
        const cas = [...(this.options.ca ? [this.options.ca] : []), ...(auth.caFile ? [fs.readFileSync(auth.caFile)] : [])];
        tls = { cert: auth.certFile ? fs.readFileSync(auth.certFile) : undefined, key: auth.keyFile ? fs.readFileSync(auth.keyFile) : undefined, ca: cas.length ? cas : undefined };
      } catch (error) {
        // The paths are the device's write-only credentials: named by field, not shown.
        throw new DeliveryError('bad_credentials', `cannot read the device's TLS files (metadata.auth certFile, keyFile, caFile): ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`, false);
      }
      agent = new Agent({ connect: { ...tls, timeout: this.options.connectTimeoutMs ?? 10_000, lookup: this.outbound.lookup }, keepAliveTimeout: 10_000, headersTimeout: this.options.responseTimeoutMs ?? 120_000, bodyTimeout: this.options.responseTimeoutMs ?? 120_000 });
      this.agents.set(key, agent);
    }
    return agent;
  }

  async deliver(req: DeliveryRequest): Promise<DeliveryResult> {
    const { device, artifact } = req;
    if (!req.filePath || artifact.kind !== 'file' || !artifact.sha256) throw new DeliveryError('unsupported', `artifact '${artifact.name}' is an image reference; HTTP push sends files (use pull agents for images)`, false);
    let url: URL;
    try {
      url = new URL(device.address ?? '');
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new DeliveryError('bad_address', `device '${device.id}' address '${device.address ?? ''}' is not an http(s) URL`, false);
    }
    // Names are checked at connect time by the agent's lookup; an IP literal skips lookups.
    try {
      this.outbound.checkHost(url.hostname);
    } catch (error) {
      throw this.classify(error, new AbortController().signal, url);
    }
    const auth = deviceAuth(device.metadata);
    const dispatcher = this.agentFor(auth);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(artifact.size),
      'x-update-id': req.updateId,
      'x-device-id': device.id,
      'x-artifact-name': artifact.name,
      'x-artifact-version': artifact.version,
      'x-artifact-sha256': artifact.sha256,
      ...(artifact.signature ? { 'x-artifact-signature': artifact.signature } : {}),
      ...(auth.bearerToken ? { authorization: `Bearer ${auth.bearerToken}` } : {}),
    };
    // One try: a delta when the receiver takes them, else (or when the delta falls through) the whole file.
    let spent = 0;
    if (req.chunkIndex && this.options.deltas !== false) {
      const outcome = await this.guarded(req, url, async (signal) => ((await this.takesDeltas(url, headers, dispatcher, signal)) ? pushDelta(req, url, headers, dispatcher, signal) : null));
      if (outcome?.result) return outcome.result;
      spent = outcome?.sent ?? 0;
    }
    const whole = await this.attempt(req, url, headers, dispatcher);
    return spent ? { ...whole, bytesSent: spent + (whole.bytesSent ?? whole.bytes), bytesReused: 0 } : whole;
  }

  private async takesDeltas(url: URL, headers: Record<string, string>, dispatcher: Agent, signal: AbortSignal): Promise<boolean> {
    const known = this.deltaSupport.get(url.href);
    if (known && this.now() - known.at < (this.options.deltaProbeTtlMs ?? 600_000)) return known.ok;
    const ok = await probeDeltas(url, headers, dispatcher, signal);
    if (this.deltaSupport.size > 100_000) this.deltaSupport.clear();
    this.deltaSupport.set(url.href, { ok, at: this.now() });
    return ok;
  }

  /** Runs `work` with the delivery's abort signal and deadline; errors come out classified. */
  private async guarded<T>(req: DeliveryRequest, url: URL, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(new DeliveryError('aborted', 'the delivery was aborted', true));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (req.signal?.aborted) onAbort();
    const remaining = req.deadline === undefined ? undefined : req.deadline - this.now();
    const timer = remaining === undefined ? undefined : setTimeout(() => controller.abort(new DeliveryError('timeout', `no answer from ${url.host} before the deadline`, true)), Math.max(0, remaining));
    try {
      return await work(controller.signal);
    } catch (error) {
      throw this.classify(error, controller.signal, url);
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async attempt(req: DeliveryRequest, url: URL, headers: Record<string, string>, dispatcher: Agent): Promise<DeliveryResult> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(new DeliveryError('aborted', 'the delivery was aborted', true));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (req.signal?.aborted) onAbort();
    const remaining = req.deadline === undefined ? undefined : req.deadline - this.now();
    const timer = remaining === undefined ? undefined : setTimeout(() => controller.abort(new DeliveryError('timeout', `no answer from ${url.host} before the deadline`, true)), Math.max(0, remaining));
    // Each attempt opens its own read stream: concurrent deliveries share only the file.
    const file = fs.createReadStream(req.filePath!, { highWaterMark: 256 * 1024 });
    // Progress is counted by a second 'data' listener, so undici reads the file stream directly (no
    // extra stream hop). Paused first: the listener must not start the flow before undici resumes it.
    const body = { sent: 0 };
    const total = req.artifact.size;
    const onProgress = req.onProgress;
    if (onProgress) {
      file.pause();
      file.on('data', (chunk) => {
        body.sent += chunk.length;
        onProgress(body.sent, total);
      });
    }
    try {
      const response = await request(url, { method: 'POST', headers, body: file, dispatcher, signal: controller.signal });
      const status = response.statusCode;
      const text = await readSome(response.body);
      if (status === 200 || status === 201 || status === 204) return { outcome: 'delivered', bytes: total };
      if (status === 208) return { outcome: 'already-installed', bytes: onProgress ? body.sent : total };
      if (status === 409 && /already[ -]installed/i.test(text)) return { outcome: 'already-installed', bytes: onProgress ? body.sent : total };
      const message = `device '${req.device.id}' answered ${status}: ${deviceMessage(text).slice(0, DELIVERY_ANSWER_CHARS) || '(no body)'}`;
      if (status >= 500 || status === 408 || status === 429) throw new DeliveryError(`http_${status}`, message, true);
      throw new DeliveryError(`http_${status}`, message, false);
    } catch (error) {
      throw this.classify(error, controller.signal, url);
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      file.destroy();
    }
  }

  private classify(error: unknown, signal: AbortSignal, url: URL): DeliveryError {
    if (error instanceof DeliveryError) return error;
    if (signal.aborted && signal.reason instanceof DeliveryError) return signal.reason;
    const denied = outboundDenial(error);
    if (denied) return new DeliveryError('denied_address', `not delivered to ${url.host}: ${denied.message}`, false, { cause: error });
    const e = error as NodeJS.ErrnoException & { code?: string };
    const code = e.code ?? 'unknown';
    if (code.startsWith('ENOENT') || (e.syscall === 'open' && e.path)) return new DeliveryError('artifact_missing', `cannot read the artifact file: ${e.message}`, false, { cause: error });
    if (TLS_CONFIG_ERRORS.test(code)) return new DeliveryError('tls', `TLS with ${url.host} failed (${code}): ${e.message}; check the device's certificate and caFile`, false, { cause: error });
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return new DeliveryError('timeout', `${url.host} did not answer in time (${code})`, true, { cause: error });
    return new DeliveryError('connection', `connection to ${url.host} failed (${code}): ${e.message}`, true, { cause: error });
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }
}
