// The demo talks to its server as an operator would: over the REST API with an admin token.
import { createHash } from 'node:crypto';

/** A failed API call, with the server's message. */
export class DemoApiError extends Error {}

export class DemoApi {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const raw = body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    const response = await fetch(this.url + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(raw !== undefined ? { 'content-type': contentType } : {}) },
      body: raw as BodyInit | undefined,
    });
    const text = await response.text();
    if (!response.ok) throw new DemoApiError(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Every item of a paged list ({items, nextCursor}). */
  async all<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    const sep = path.includes('?') ? '&' : '?';
    for (let page = 0; page < 1000; page++) {
      const answer: { items: T[]; nextCursor?: string | null } | T[] = await this.call('GET', `${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (Array.isArray(answer)) return answer;
      items.push(...answer.items);
      cursor = answer.nextCursor ?? null;
      if (!cursor || answer.items.length === 0) break;
    }
    return items;
  }

  /** Uploads a firmware file (bytes derived from name and version) and answers the artifact id. */
  async uploadFirmware(name: string, version: string, size = 64 * 1024): Promise<string> {
    const bytes = Buffer.alloc(size);
    let block = createHash('sha256').update(`${name}@${version}`).digest();
    for (let i = 0; i < size; i += block.length) {
      block.copy(bytes, i);
      block = createHash('sha256').update(block).digest();
    }
    const artifact = await this.call<{ id: string }>('POST', `/api/v1/artifacts?name=${encodeURIComponent(name)}&version=${encodeURIComponent(version)}`, new Uint8Array(bytes), 'application/octet-stream');
    return artifact.id;
  }
}
