// `orchestrator artifacts`: upload (streamed, optionally signed, with a progress bar), add-image,
// list, get and rm, through the API. Signing happens here, where the key is: the CLI hashes the
// file and computes its chunk index with the server's own chunker (src/core), signs both, and the
// server checks that its index of the uploaded bytes is the one signed.
import fs from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { chunkerParams, chunkerParamsProblem, ChunkIndexBuilder, chunkIndexDigest, DEFAULT_CHUNKER, encodeChunkIndex, publicKeyOf, signArtifact, signArtifactIndex, type Artifact } from '../../core/index.js';
import { ApiClient, CliError } from '../client.js';
import { printJson, printRecord, printTable } from '../output.js';
import { remoteOptions } from './devices.js';

export interface Remote {
  server?: string;
  token?: string;
  json?: boolean;
}

const COLUMNS = [{ key: 'id' }, { key: 'name', width: 24 }, { key: 'version' }, { key: 'kind' }, { key: 'size' }, { key: 'sha256', width: 16 }, { key: 'signed' }, { key: 'createdAt', header: 'CREATED' }];
const row = (a: Artifact) => ({ ...a, sha256: a.sha256 ?? a.imageRef, signed: a.signature ? 'yes' : 'no' }) as unknown as Record<string, unknown>;

function readKey(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`cannot read the signing key '${file}' (make one with: orchestrator keys generate --out PREFIX)`, 2);
  }
}

/** Signature headers for (name, version, sha256) with the private key in `keyFile`, and the index signature when given its digest. */
function signatureFor(keyFile: string, fields: { name: string; version: string; sha256: string }, indexSha256?: string) {
  const pem = readKey(keyFile);
  try {
    return { signature: signArtifact(fields, pem), publicKey: publicKeyOf(pem), indexSignature: indexSha256 ? signArtifactIndex({ ...fields, indexSha256 }, pem) : undefined };
  } catch (error) {
    throw new CliError(`cannot sign with '${keyFile}': ${(error as Error).message}`, 2);
  }
}

/** One read of the file: its sha256 and the digest of its chunk index, as the server will compute them. */
async function hashAndIndex(file: string, avgSize: number): Promise<{ sha256: string; indexSha256: string }> {
  const builder = new ChunkIndexBuilder(chunkerParams(avgSize), { hashFile: true });
  await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) builder.update(chunk);
  });
  const index = builder.finish();
  return { sha256: index.sha256, indexSha256: chunkIndexDigest(encodeChunkIndex(index)) };
}

/** The size of a file to upload; a CliError when it cannot be read. */
export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    throw new CliError(`cannot read '${file}': no such file`, 2);
  }
}

/** What an upload says of the artifact it made. */
export function describeUpload(artifact: Artifact): string {
  const index = artifact.chunkIndex ? `, ${artifact.chunkIndex.chunks} chunks${artifact.chunkIndex.signature ? ' (index signed)' : ''}` : '';
  return `uploaded ${artifact.name} ${artifact.version}: id ${artifact.id}, ${artifact.size} bytes, sha256 ${artifact.sha256}${artifact.signature ? ', signed' : ''}${index}`;
}

/** How a file is uploaded: its name and version, and optionally a signing key, chunk size and media type. */
export interface UploadOptions {
  name: string;
  version: string;
  sign?: string;
  chunkAvg?: number;
  contentType?: string;
}

/**
 * Streams `file` to POST /api/v1/artifacts (signed with `sign` when given: the file is then read
 * twice, once to hash and index it); `progress` hears the bytes sent so far.
 */
export async function uploadArtifactFile(remote: Remote, file: string, o: UploadOptions, progress?: (sent: number) => void): Promise<Artifact> {
  const size = fileSize(file);
  const headers: Record<string, string> = {};
  const avgSize = o.chunkAvg ?? DEFAULT_CHUNKER.avgSize;
  if (o.chunkAvg !== undefined) headers['x-artifact-chunk-avg'] = String(avgSize);
  if (o.sign) {
    // The signatures cover the hash and the index, so the file is read twice: once to hash and index, once to send.
    readKey(o.sign);
    const { sha256, indexSha256 } = await hashAndIndex(file, avgSize);
    const { signature, publicKey, indexSignature } = signatureFor(o.sign, { name: o.name, version: o.version, sha256 }, indexSha256);
    Object.assign(headers, { 'x-artifact-sha256': sha256, 'x-artifact-signature': signature, 'x-artifact-public-key': Buffer.from(publicKey).toString('base64'), 'x-artifact-index-sha256': indexSha256, 'x-artifact-index-signature': indexSignature! });
  }
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      progress?.(sent);
      done(null, chunk);
    },
  });
  const body = fs.createReadStream(file).pipe(counter);
  return new ApiClient(remote).request<Artifact>('POST', '/api/v1/artifacts', {
    query: { name: o.name, version: o.version, contentType: o.contentType ?? 'application/octet-stream' },
    raw: { stream: body, contentType: 'application/octet-stream', length: size, headers },
  });
}

export function chunkAvgOption(value: string): number {
  const kib = /^(\d+)\s*(k|kib)?$/i.exec(value.trim());
  const bytes = kib ? Number(kib[1]) * (kib[2] ? 1024 : 1) : NaN;
  const problem = Number.isSafeInteger(bytes) ? chunkerParamsProblem(chunkerParams(bytes)) : 'not a number';
  if (problem) throw new CliError(`--chunk-avg '${value}': ${problem} (e.g. 64K, 16K, 1024K)`, 2);
  return bytes;
}

export function registerArtifacts(program: Command): void {
  const artifacts = program.command('artifacts').description('artifacts: upload, add-image, list, get, rm');

  remoteOptions(artifacts.command('upload <file>'))
    .description('upload a file as an artifact (streamed; the server stores it by sha256)')
    .requiredOption('--name <name>', 'artifact name, e.g. pos-firmware')
    .requiredOption('--version <version>', 'artifact version, e.g. 2.4.1')
    .option('--sign <keyfile>', 'sign with this private key (PREFIX.key from keys generate): the artifact, and its chunk index so devices may fetch deltas')
    .option('--chunk-avg <size>', `average chunk size of the delta index, a power of two from 8K to 4096K; smaller finds smaller changes, with a larger index (default ${DEFAULT_CHUNKER.avgSize / 1024}K)`, chunkAvgOption)
    .option('--content-type <type>', 'the artifact\'s media type', 'application/octet-stream')
    .option('--no-progress', 'no progress bar')
    .action(async (file: string, o: Remote & { name: string; version: string; sign?: string; chunkAvg?: number; contentType: string; progress: boolean }) => {
      const size = fileSize(file);
      const bar = o.progress && !o.json && process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'uploading [{bar}] {percentage}% {value}/{total} bytes', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
      bar?.start(size, 0);
      try {
        const artifact = await uploadArtifactFile(o, file, o, (sent) => bar?.update(sent));
        bar?.stop();
        if (o.json) printJson(artifact);
        else process.stdout.write(`${describeUpload(artifact)}\n`);
      } catch (error) {
        bar?.stop();
        throw error;
      }
    });

  remoteOptions(artifacts.command('add-image <ref>'))
    .description('record a container image reference (registry/repo:tag[@sha256:...]) as an artifact')
    .requiredOption('--name <name>', 'artifact name')
    .requiredOption('--version <version>', 'artifact version')
    .option('--sign <keyfile>', 'sign (needs a digest in the reference)')
    .action(async (ref: string, o: Remote & { name: string; version: string; sign?: string }) => {
      const body: Record<string, unknown> = { name: o.name, version: o.version, imageRef: ref };
      if (o.sign) {
        const digest = /@sha256:([0-9a-f]{64})$/.exec(ref)?.[1];
        if (!digest) throw new CliError('--sign needs a digest in the reference (repo:tag@sha256:...)', 2);
        Object.assign(body, signatureFor(o.sign, { name: o.name, version: o.version, sha256: digest }));
      }
      const artifact = await new ApiClient(o).request<Artifact>('POST', '/api/v1/artifacts', { body });
      if (o.json) printJson(artifact);
      else process.stdout.write(`added ${artifact.name} ${artifact.version}: id ${artifact.id} -> ${artifact.imageRef}\n`);
    });

  remoteOptions(artifacts.command('list'))
    .description('list artifacts, newest first')
    .option('--name <name>', 'only this name')
    .option('--limit <n>', 'page size (1-1000)', (v) => Number.parseInt(v, 10), 100)
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (o: Remote & { name?: string; limit: number; cursor?: string }) => {
      const page = await new ApiClient(o).request<{ items: Artifact[]; nextCursor: string | null; total: number }>('GET', '/api/v1/artifacts', { query: { name: o.name, limit: o.limit, cursor: o.cursor } });
      if (o.json) return printJson(page);
      printTable(page.items.map(row), COLUMNS);
      process.stdout.write(`\n${page.items.length} shown of ${page.total}${page.nextCursor ? `; next page: --cursor ${page.nextCursor}` : ''}\n`);
    });

  remoteOptions(artifacts.command('get <id>'))
    .description('show one artifact')
    .action(async (id: string, o: Remote) => {
      const artifact = await new ApiClient(o).request<Artifact>('GET', `/api/v1/artifacts/${encodeURIComponent(id)}`);
      if (o.json) printJson(artifact);
      else printRecord(artifact);
    });

  remoteOptions(artifacts.command('rm <id>'))
    .description('delete an artifact (refused while a rollout uses it)')
    .action(async (id: string, o: Remote) => {
      await new ApiClient(o).request('DELETE', `/api/v1/artifacts/${encodeURIComponent(id)}`);
      if (o.json) printJson({ removed: id });
      else process.stdout.write(`removed ${id}\n`);
    });
}
