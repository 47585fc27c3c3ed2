// The CLI's HTTP client: server URL and token from flags or ORCHESTRATOR_URL/ORCHESTRATOR_TOKEN,
// errors turned into one readable line.
import type { Readable } from 'node:stream';

export interface ClientOptions {
  server?: string;
  token?: string;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Where the server is when nothing says otherwise (`orchestrator serve`'s default). */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** The server URL every command uses: --server, else ORCHESTRATOR_URL, else DEFAULT_SERVER. */
export function serverUrl(flag?: string): string {
  return (flag || process.env.ORCHESTRATOR_URL || DEFAULT_SERVER).replace(/\/+$/, '');
}

export class ApiClient {
  readonly base: string;
  private readonly token: string | undefined;

  constructor(options: ClientOptions) {
    this.base = serverUrl(options.server);
    this.token = options.token ?? process.env.ORCHESTRATOR_TOKEN;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    if (!this.token) throw new CliError('no token: pass --token T or set ORCHESTRATOR_TOKEN (create one with: orchestrator tokens create --role admin --data ./data)', 2);
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  async request<T>(method: string, path: string, options: { body?: unknown; query?: Record<string, unknown>; raw?: { stream: Readable; contentType: string; length?: number; headers?: Record<string, string> } } = {}): Promise<T> {
    const response = await this.fetch(method, path, options);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Performs the request and throws a CliError for any non-2xx answer; the caller reads the body. */
  async fetch(method: string, path: string, options: { body?: unknown; query?: Record<string, unknown>; raw?: { stream: Readable; contentType: string; length?: number; headers?: Record<string, string> } } = {}): Promise<Response> {
    const url = new URL(this.base + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value === undefined || value === null || value === '') continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
    }
    const init: RequestInit & { duplex?: 'half' } = { method, headers: this.headers() };
    if (options.raw) {
      init.headers = this.headers({ ...(options.raw.headers ?? {}), 'content-type': options.raw.contentType, ...(options.raw.length !== undefined ? { 'content-length': String(options.raw.length) } : {}) });
      init.body = options.raw.stream as unknown as BodyInit;
      init.duplex = 'half';
    } else if (options.body !== undefined) {
      init.headers = this.headers({ 'content-type': 'application/json' });
      init.body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`cannot reach the server at ${this.base} (${cause?.code ?? cause?.message ?? (error as Error).message}); is it running? (orchestrator serve, or pass --server URL)`);
    }
    if (!response.ok) {
      const text = await response.text();
      let message = `${response.status} ${response.statusText}`;
      try {
        const body = JSON.parse(text) as { error?: { message?: string; details?: { path?: string; message: string }[] } };
        if (body.error?.message) message = `${message}: ${body.error.message}`;
        const details = body.error?.details ?? [];
        if (details.length) message += '\n' + details.map((d) => `  ${d.path ? d.path + ': ' : ''}${d.message}`).join('\n');
      } catch {
        if (text) message += `: ${text.slice(0, 500)}`;
      }
      throw new CliError(message);
    }
    return response;
  }
}
