// Delta pushes over HTTP, for receivers that say so (OPTIONS answers X-Update-Deltas: uo-chunks/1,
// as `orchestrator agent --listen` does): POST the artifact's chunk index with X-Chunk-Query, get
// back the ranges the device lacks and a session, POST just those ranges concatenated with
// X-Chunk-Session. Anything short of a verified install (a lost session, a corrupted chunk, a
// receiver that would rather have it whole) answers null and the caller pushes the whole file.
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { CHUNK_INDEX_MEDIA_TYPE, rangeBytes, type ByteRange } from '../../core/index.js';
import { DeliveryError, type DeliveryRequest, type DeliveryResult } from '../transport.js';

export const DELTA_PROTOCOL = 'uo-chunks/1';

/** What a delta attempt spent, and its result when it delivered. */
export interface DeltaOutcome {
  result: DeliveryResult | null;
  /** Bytes sent in the attempt (the index, the ranges), counted even when it fell back. */
  sent: number;
}

async function readText(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    if (text.length < limit) text += (chunk as Buffer).toString('utf8');
  }
  return text;
}

const retryable = (status: number) => status >= 500 || status === 408 || status === 429;

/** Does the receiver at `url` take delta pushes? (OPTIONS; any failure to say so means no.) */
export async function probeDeltas(url: URL, headers: Record<string, string>, dispatcher: Dispatcher, signal: AbortSignal): Promise<boolean> {
  const answer = await request(url, { method: 'OPTIONS', headers: headers.authorization ? { authorization: headers.authorization } : {}, dispatcher, signal });
  await answer.body.dump();
  const offered = String(answer.headers['x-update-deltas'] ?? '');
  return answer.statusCode >= 200 && answer.statusCode < 300 && offered.split(',').map((s) => s.trim()).includes(DELTA_PROTOCOL);
}

/** Parses and checks the receiver's answer to a chunk query. */
function parseQueryAnswer(text: string, size: number): { session: string; missing: ByteRange[]; reused: number } | null {
  let answer: { mode?: unknown; session?: unknown; missing?: unknown; reusedBytes?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    return null;
  }
  if (answer.mode !== 'delta' || typeof answer.session !== 'string' || answer.session.length > 200 || !Array.isArray(answer.missing)) return null;
  const missing: ByteRange[] = [];
  let end = 0;
  for (const r of answer.missing as unknown[]) {
    if (!Array.isArray(r) || r.length !== 2 || !Number.isSafeInteger(r[0]) || !Number.isSafeInteger(r[1])) return null;
    const [offset, length] = r as [number, number];
    if (offset < end || length <= 0 || offset + length > size) return null;
    missing.push([offset, length]);
    end = offset + length;
  }
  const reused = typeof answer.reusedBytes === 'number' ? answer.reusedBytes : size - rangeBytes(missing);
  return { session: answer.session, missing, reused };
}

/** The missing ranges of the file, one after the other. */
async function* rangesOf(file: string, ranges: ByteRange[], onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    for (const [offset, length] of ranges) {
      for (let at = offset; at < offset + length; ) {
        const want = Math.min(256 * 1024, offset + length - at);
        const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(want), 0, want, at);
        if (bytesRead === 0) throw new DeliveryError('artifact_changed', `the artifact file ended at ${at}`, false);
        at += bytesRead;
        onBytes(bytesRead);
        yield buffer.subarray(0, bytesRead);
      }
    }
  } finally {
    await handle.close();
  }
}

/**
 * Pushes only what the device lacks. Throws (retryably) on 5xx and broken connections, like the
 * plain push; answers result null when the device should get the whole file instead.
 */
export async function pushDelta(req: DeliveryRequest, url: URL, headers: Record<string, string>, dispatcher: Dispatcher, signal: AbortSignal): Promise<DeltaOutcome> {
  const index = req.chunkIndex!;
  const { artifact } = req;
  const { 'content-type': _type, 'content-length': _length, ...base } = headers;
  const indexSize = (await fs.promises.stat(index.file)).size;
  let sent = 0;
  const query = await request(url, {
    method: 'POST',
    headers: { ...base, 'content-type': CHUNK_INDEX_MEDIA_TYPE, 'content-encoding': 'gzip', 'content-length': String(indexSize), 'x-chunk-query': '1', 'x-artifact-size': String(artifact.size), ...(index.signature ? { 'x-artifact-index-signature': index.signature } : {}) },
    body: fs.createReadStream(index.file),
    dispatcher,
    signal,
  });
  sent += indexSize;
  const text = await readText(query.body, 16 * 1024 * 1024);
  if (query.statusCode === 208) return { result: { outcome: 'already-installed', bytes: artifact.size, bytesSent: sent, bytesReused: 0 }, sent };
  if (retryable(query.statusCode)) throw new DeliveryError(`http_${query.statusCode}`, `device '${req.device.id}' answered the chunk query with ${query.statusCode}`, true);
  const plan = query.statusCode === 200 ? parseQueryAnswer(text, artifact.size) : null;
  if (!plan) return { result: null, sent };
  const total = rangeBytes(plan.missing);
  let pushed = 0;
  const body = Readable.from(
    rangesOf(req.filePath!, plan.missing, (n) => {
      pushed += n;
      req.onProgress?.(plan.reused + pushed, artifact.size);
    }),
  );
  const data = await request(url, { method: 'POST', headers: { ...base, 'content-type': 'application/octet-stream', 'content-length': String(total), 'x-chunk-session': plan.session }, body, dispatcher, signal });
  await data.body.dump();
  sent += total;
  if (data.statusCode === 200 || data.statusCode === 201) return { result: { outcome: 'delivered', bytes: artifact.size, bytesSent: sent, bytesReused: plan.reused }, sent };
  if (data.statusCode === 208) return { result: { outcome: 'already-installed', bytes: artifact.size, bytesSent: sent, bytesReused: 0 }, sent };
  if (retryable(data.statusCode)) throw new DeliveryError(`http_${data.statusCode}`, `device '${req.device.id}' answered the delta with ${data.statusCode}`, true);
  return { result: null, sent };
}
