// The device side of the pull protocol: poll the target state with ETags, report progress, open
// ranged downloads, enroll. Used by the real agent and by every simulated agent (src/sim).
import { rangeHeader, type ByteRange, type DeviceReport, type TargetState } from '../core/index.js';
import { readRangedResponse } from './byteranges.js';

/** A failed protocol request; `status` 0 means the server was not reached. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
  /** Worth retrying later (network trouble, 5xx, 429); otherwise the server refused for good. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export interface AgentClientOptions {
  /** Base URL of the orchestrator, e.g. http://127.0.0.1:8080. */
  server: string;
  deviceId: string;
  token: string;
  /** Per-request timeout for polls and reports, ms. */
  timeoutMs?: number;
  /** Replaces the global fetch (tests, simulators sharing a dispatcher). */
  fetch?: typeof fetch;
}

export type PollResult = { changed: false; etag: string } | { changed: true; etag: string | null; state: TargetState };

export interface DownloadResponse {
  /** First byte of the body within the artifact (0 for a full answer). */
  start: number;
  /** Total size of the artifact when the server says it. */
  total: number | null;
  body: ReadableStream<Uint8Array>;
}

async function errorOf(response: Response, what: string): Promise<ProtocolError> {
  let message = `${what}: ${response.status} ${response.statusText}`;
  let code: string | null = null;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.message) message += `: ${body.error.message}`;
    code = body.error?.code ?? null;
  } catch {
    // not JSON
  }
  return new ProtocolError(message, response.status, code);
}

export class AgentClient {
  readonly server: string;
  private readonly fetchImpl: typeof fetch;

  constructor(readonly options: AgentClientOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? fetch;
  }

  get deviceId(): string {
    return this.options.deviceId;
  }

  private async call(url: string, init: RequestInit, what: string): Promise<Response> {
    try {
      return await this.fetchImpl(url, { ...init, signal: init.signal ?? AbortSignal.timeout(this.options.timeoutMs ?? 30_000) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new ProtocolError(`${what}: cannot reach ${this.server} (${cause?.code ?? (error as Error).message})`, 0);
    }
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.options.token}`, ...extra };
  }

  /** GET the target state; with `etag`, an unchanged state answers { changed: false }. */
  async poll(etag: string | null): Promise<PollResult> {
    const response = await this.call(`${this.server}/api/v1/device/${encodeURIComponent(this.options.deviceId)}/state`, { headers: this.headers(etag ? { 'if-none-match': etag } : {}) }, 'poll');
    if (response.status === 304) {
      await response.body?.cancel();
      return { changed: false, etag: etag! };
    }
    if (!response.ok) throw await errorOf(response, 'poll');
    return { changed: true, etag: response.headers.get('etag'), state: (await response.json()) as TargetState };
  }

  async report(report: DeviceReport): Promise<void> {
    const response = await this.call(`${this.server}/api/v1/device/state`, { method: 'PATCH', headers: this.headers({ 'content-type': 'application/json' }), body: JSON.stringify(report) }, 'report');
    if (!response.ok) throw await errorOf(response, 'report');
    await response.body?.cancel();
  }

  /** Opens a download from byte `from` (Range); the caller reads the body. */
  async openDownload(url: string, from: number, signal?: AbortSignal): Promise<DownloadResponse> {
    const absolute = new URL(url, this.server + '/').toString();
    const response = await this.call(absolute, { headers: this.headers(from > 0 ? { range: `bytes=${from}-` } : {}), signal: signal ?? AbortSignal.timeout(3_600_000) }, 'download');
    if (!response.ok || !response.body) throw await errorOf(response, 'download');
    if (response.status === 206) {
      const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
      if (!match) throw new ProtocolError('download: 206 without a valid Content-Range', 502);
      return { start: Number(match[1]), total: match[3] === '*' ? null : Number(match[3]), body: response.body };
    }
    const length = response.headers.get('content-length');
    return { start: 0, total: length === null ? null : Number(length), body: response.body };
  }

  /**
   * GETs a chunk index (gzip-compressed on the wire, decoded here), refusing more than `maxBytes`
   * decoded. `wireBytes` is what crossed the network (Content-Length when the server says it).
   */
  async fetchIndex(url: string, maxBytes: number): Promise<{ bytes: Buffer; wireBytes: number }> {
    const absolute = new URL(url, this.server + '/').toString();
    const response = await this.call(absolute, { headers: this.headers({ 'accept-encoding': 'gzip' }), signal: AbortSignal.timeout(300_000) }, 'chunk index');
    if (!response.ok || !response.body) throw await errorOf(response, 'chunk index');
    const parts: Buffer[] = [];
    let size = 0;
    try {
      for await (const part of response.body) {
        size += part.length;
        if (size > maxBytes) throw new ProtocolError(`chunk index: larger than ${maxBytes} bytes, more than a file of this size can need`, 502);
        parts.push(Buffer.from(part));
      }
    } catch (error) {
      if (error instanceof ProtocolError) throw error;
      throw new ProtocolError(`chunk index: the transfer broke (${(error as Error).message})`, 0);
    }
    const length = Number(response.headers.get('content-length'));
    return { bytes: Buffer.concat(parts), wireBytes: Number.isFinite(length) && length > 0 ? length : size };
  }

  /**
   * GETs several byte ranges of an artifact in one request (multipart/byteranges, or one range);
   * `onData(offset, bytes)` gets every byte. `ifRange` (the artifact's ETag) makes a server whose
   * file changed answer the whole file, which throws RangesNotSupportedError. Answers the body
   * bytes received (framing included).
   */
  async fetchRanges(url: string, ranges: readonly ByteRange[], onData: (offset: number, bytes: Uint8Array) => Promise<void> | void, options: { ifRange?: string; signal?: AbortSignal } = {}): Promise<number> {
    const absolute = new URL(url, this.server + '/').toString();
    const headers = this.headers({ range: rangeHeader(ranges), ...(options.ifRange ? { 'if-range': options.ifRange } : {}) });
    const response = await this.call(absolute, { headers, signal: options.signal ?? AbortSignal.timeout(3_600_000) }, 'download');
    if (response.status !== 200 && response.status !== 206) throw await errorOf(response, 'download');
    try {
      return await readRangedResponse(response, onData);
    } catch (error) {
      if (error instanceof Error && error.name === 'RangesNotSupportedError') throw error;
      throw new ProtocolError(`download: ${(error as Error).message}`, 0);
    }
  }

  /** Registers a device with an enrollment key; answers its token (store it: it is shown once). */
  static async enroll(server: string, body: { enrollmentKey: string; id: string; name?: string; version?: string; location?: string; timezone?: string; tags?: Record<string, string> }, fetchImpl: typeof fetch = fetch): Promise<{ deviceId: string; token: string; enrollment: string }> {
    let response: Response;
    try {
      response = await fetchImpl(`${server.replace(/\/+$/, '')}/api/v1/device/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    } catch (error) {
      throw new ProtocolError(`enroll: cannot reach ${server} (${(error as Error).message})`, 0);
    }
    if (!response.ok) throw await errorOf(response, 'enroll');
    return (await response.json()) as { deviceId: string; token: string; enrollment: string };
  }
}
