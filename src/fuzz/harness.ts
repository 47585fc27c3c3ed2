// The fuzz oracle around one running app: sends a request over a raw HTTP connection, counts the
// answer, and checks it: never a 5xx or a dropped connection, 4xx in the standard error shape, and
// the store unchanged by anything but a successful write.
import http from 'node:http';
import type { TestApp } from '../testing/app.js';
import type { AuthChoice, LiveContext, MaterializedRequest } from './request.js';
import { diff, idsOf, snapshot, tableNames, tablesWithId, withoutColumns, APPEND_ONLY, REFUSED_BUT_RECORDED, type Snapshot } from '../testing/snapshot.js';
import type { Route } from './routes.js';
import type { FuzzTokens } from './fixtures.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * 4xx answers allowed to differ from {"error": {code, message, details}}, each with its reason.
 * 416 Range Not Satisfiable: the answer is `Content-Range: bytes * /size` with an empty body, as
 * RFC 9110 describes and download clients expect.
 */
export const ERROR_SHAPE_EXCEPTIONS: { status: number; path: RegExp; why: string }[] = [
  { status: 416, path: /\/(content|artifacts\/[^/]+)$/, why: 'Range not satisfiable: Content-Range header, empty body' },
  // The dashboard's static files (src/api/web.routes.ts) are for browsers: a missing file is a plain-text 404.
  { status: 404, path: /^\/(ui\/.*|favicon\.ico)$/, why: 'dashboard file not found: text/plain for browsers' },
];

/**
 * Node refuses a request line plus headers over 16 KiB in its parser and closes the connection
 * (the margin covers the headers the client adds: host, connection, content-length).
 */
const MAX_HEAD_BYTES = 16 * 1024 - 512;

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class FuzzHarness implements LiveContext {
  readonly counts = new Map<string, number>();
  total = 0;
  // A fresh connection per request: a refused request may close its connection (413, 431), and a
  // reused socket would then fail the next, innocent request.
  private readonly agent = new http.Agent({ keepAlive: false });
  private readonly base: URL;
  private tables: string[] = [];
  private rowTables: string[] = [];
  private last: Snapshot = new Map();
  private ids = new Map<string, string[]>();
  private tablesWithId: string[] = [];
  tokens: FuzzTokens | undefined;
  /** Set by a successful write: fixtures may be gone, tokens revoked. */
  wrote = true;

  constructor(
    private readonly t: TestApp,
    readonly webhookSecret: string,
    private readonly protectedTokenIds: Set<string>,
  ) {
    this.base = new URL(t.url);
  }

  private get store() {
    return this.t.app.store;
  }

  async init(): Promise<void> {
    this.tables = await tableNames(this.store);
    this.rowTables = this.tables.filter((t) => !APPEND_ONLY.has(t));
    this.tablesWithId = await tablesWithId(this.store);
  }

  /** Re-reads the store and the live ids after fixtures changed it outside the oracle. */
  async resync(): Promise<void> {
    this.last = await snapshot(this.store, this.rowTables);
    await this.refreshIds();
  }

  /** The append-only tables, for a subset check across a whole property. */
  appendOnlySnapshot(): Promise<Snapshot> {
    return snapshot(this.store, [...APPEND_ONLY].filter((t) => this.tables.includes(t)));
  }

  private async refreshIds(): Promise<void> {
    for (const table of this.tablesWithId) {
      this.ids.set(table, (await idsOf(this.store, table)).filter((id) => table !== 'tokens' || !this.protectedTokenIds.has(id)));
    }
  }

  /** Live ids for a path parameter: by its name (`artifactId`) or the segment before it (`devices/:id`). */
  idsFor(route: Route, paramIndex: number): string[] {
    const segments = route.path.split('/');
    const at = segments.findIndex((s, i) => (s.startsWith(':') || s === '*') && segments.slice(0, i + 1).filter((x) => x.startsWith(':') || x === '*').length === paramIndex + 1);
    const name = segments[at]?.replace(/^:/, '') ?? '';
    if (name === 'secret') return [this.webhookSecret, 'wrong-secret'];
    const candidates = [name.replace(/Id$/, '') + 's', segments[at - 1] ?? '', (segments[at - 1] ?? '') + 's'].map((c) => c.replace(/-/g, '_'));
    for (const c of candidates) if (this.ids.has(c)) return this.ids.get(c)!;
    return [...[...this.ids.values()].flat(), this.webhookSecret];
  }

  idsOf(table: string): string[] {
    return this.ids.get(table) ?? [];
  }

  token(choice: AuthChoice): string | null {
    const tokens = this.tokens!;
    switch (choice) {
      case 'admin':
      case 'operator':
      case 'viewer':
      case 'device':
      case 'revoked':
        return tokens[choice];
      case 'other-device':
        return tokens.otherDevice;
      case 'none':
        return null;
      case 'garbage':
        return 'not-a-token-' + 'x'.repeat(40);
      case 'basic':
        return Buffer.from('admin:admin').toString('base64');
      case 'empty-bearer':
        return '';
    }
  }

  /** Sends bytes as they are (no URL normalization, no header fixing). */
  send(request: MaterializedRequest, timeoutMs = 15_000): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: this.base.hostname, port: this.base.port, method: request.method, path: request.path, headers: { ...request.headers, ...(request.body ? { 'content-length': String(request.body.length) } : {}) }, agent: this.agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(request.body);
    });
  }

  /** Sends one fuzz request and applies the oracle; throws a description of any violation. */
  async check(route: Route, request: MaterializedRequest, bodyLimit: number): Promise<Answer | null> {
    let answer: Answer;
    try {
      answer = await this.send(request);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      // The client refused to send it (a header Node will not encode): not a server question.
      if (code.startsWith('ERR_INVALID') || code === 'ERR_UNESCAPED_CHARACTERS') return this.count('client-refused');
      // A server may close the connection on a body it refuses to read (over the limit).
      const closed = /ECONNRESET|EPIPE|HPE_|socket hang up/.test(`${code} ${(error as Error).message}`);
      if (closed && (request.body?.length ?? 0) > bodyLimit) return this.count('reset-oversized');
      // (For HEAD, the parser's 431 comes with a body the client does not expect: it reports a parse error.)
      if (closed && headBytes(request) > MAX_HEAD_BYTES) return this.count('reset-oversized-head');
      throw new Error(`no answer (${code || (error as Error).message}) to ${describe(request)}`);
    }
    this.count(String(answer.status));
    const after = await snapshot(this.store, this.rowTables);
    if (answer.status >= 500) {
      // What a failed request wrote is its own: blamed on it here, not on the next (shrunk) request.
      const changes = diff(this.last, after);
      this.last = after;
      const wrote = changes.length > 0 ? `\nand the store changed:\n${changes.join('\n')}` : '';
      throw new Error(`${answer.status} for ${describe(request)}\nanswer: ${answer.body.toString('utf8').slice(0, 500)}${wrote}`);
    }
    if (answer.status >= 400 && request.method !== 'HEAD') this.checkErrorShape(request, answer);
    const wrote = MUTATING.has(request.method) && answer.status >= 200 && answer.status < 300;
    if (!wrote) {
      const path = request.path.split('?')[0]!;
      const allowed = REFUSED_BUT_RECORDED.filter((e) => e.method === request.method && e.path.test(path) && e.statuses.includes(answer.status));
      // What a refused request may record by design (REFUSED_BUT_RECORDED) is left out of the comparison.
      let [before, now] = [this.last, after];
      for (const e of allowed) [before, now] = [withoutColumns(before, e.table, e.columns), withoutColumns(now, e.table, e.columns)];
      const changes = diff(before, now);
      if (changes.length > 0) {
        this.last = after;
        throw new Error(`the store changed on a ${answer.status} answer to ${describe(request)}:\n${changes.join('\n')}`);
      }
    } else {
      this.wrote = true;
      await this.refreshIds();
    }
    this.last = after;
    return answer;
  }

  private checkErrorShape(request: MaterializedRequest, answer: Answer): void {
    const path = request.path.split(/[?#]/)[0]!;
    if (ERROR_SHAPE_EXCEPTIONS.some((e) => e.status === answer.status && e.path.test(path))) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.body.toString('utf8'));
    } catch {
      throw new Error(`${answer.status} without a JSON body (${answer.headers['content-type']}: ${answer.body.toString('utf8').slice(0, 200)}) for ${describe(request)}`);
    }
    const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
    if (!error || typeof error.code !== 'string' || typeof error.message !== 'string' || !Array.isArray(error.details)) {
      throw new Error(`${answer.status} not in the {"error":{code,message,details}} shape: ${answer.body.toString('utf8').slice(0, 300)} for ${describe(request)}`);
    }
  }

  private count(key: string): null {
    this.total++;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    return null;
  }

  close(): void {
    this.agent.destroy();
  }
}

function headBytes(r: MaterializedRequest): number {
  return r.path.length + Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v) + 4, 0);
}

/** A request in one readable line (long parts cut). */
export function describe(r: MaterializedRequest): string {
  const headers = Object.entries(r.headers).map(([k, v]) => `${k}: ${k === 'authorization' ? v.slice(0, 18) + '…' : v.slice(0, 80)}`).join(' | ');
  const body = r.body ? ` body(${r.body.length} B): ${JSON.stringify(r.body.subarray(0, 200).toString('utf8'))}` : '';
  return `${r.method} ${r.path.slice(0, 300)} [${headers}]${body}`;
}
