// `npm run bench -- fanout [--receivers 100] [--sizes 16,256] [--rounds 3]`: one artifact pushed to N HTTP
// receivers on 127.0.0.1 through HttpTransport, and the same bytes sent by a plain node:http stream
// copy to the same receivers. Receivers run in child processes; each sender variant runs in a fresh
// child so its peak RSS (VmHWM) is its own. Median of rounds; one JSON line per size.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { makeArtifactFile, makeDevice } from '../testing/delivery.js';
import type { Artifact } from '../core/index.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');
const MiB = 1024 * 1024;

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

/** Peak resident set of this process, MiB (Linux VmHWM; falls back to current RSS). */
export function peakRssMb(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) return Math.round((Number(match[1]) / 1024) * 10) / 10;
  } catch {
    // not Linux
  }
  return Math.round((process.memoryUsage().rss / MiB) * 10) / 10;
}

/** Child role: `count` sink receivers that read the body, check its length and answer 201. */
async function receivers(count: number): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = http.createServer((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => res.writeHead(bytes === Number(req.headers['content-length']) ? 201 : 400).end());
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push((server.address() as { port: number }).port);
  }
  process.stdout.write(JSON.stringify({ ports }) + '\n');
  await new Promise(() => undefined); // until killed
}

/** What a sender child reports. */
interface SenderResult {
  seconds: number;
  cpuSeconds: number;
  errors: number;
  peakRssMb: number;
}

interface SenderJob {
  mode: 'transport' | 'baseline';
  artifact: Artifact;
  filePath: string;
  urls: string[];
}

/** Child role: sends the file to every URL at once, then reports time, errors and peak RSS. */
async function sender(jobFile: string): Promise<void> {
  const job = JSON.parse(fs.readFileSync(jobFile, 'utf8')) as SenderJob;
  let errors = 0;
  // Loaded before the clock starts, as node:http is for the baseline: module loading is not delivery.
  const { HttpTransport } = await import('../delivery/http/http.transport.js');
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  if (job.mode === 'transport') {
    const transport = new HttpTransport();
    await Promise.all(job.urls.map((url, i) => transport.deliver({ updateId: `b-${i}`, device: makeDevice(`r-${i}`, 'http', url), artifact: job.artifact, filePath: job.filePath }).catch(() => void errors++)));
    await transport.close();
  } else {
    const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
    await Promise.all(
      job.urls.map(
        (url) =>
          new Promise<void>((resolve) => {
            const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/octet-stream', 'content-length': String(job.artifact.size) } }, (res) => {
              if (res.statusCode !== 201) errors++;
              res.resume();
              res.on('end', resolve);
            });
            req.on('error', () => {
              errors++;
              resolve();
            });
            fs.createReadStream(job.filePath, { highWaterMark: 256 * 1024 }).pipe(req);
          }),
      ),
    );
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  process.stdout.write(JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, errors, peakRssMb: peakRssMb() }) + '\n');
}

function runChild(args: string[]): Promise<SenderResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'fanout', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as SenderResult) : reject(new Error(`sender exited ${code}`))));
  });
}

function startReceivers(count: number): Promise<{ ports: number[]; kill(): void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'fanout', '--child', 'receivers', '--count', String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve({ ports: (JSON.parse(out.split('\n')[0]!) as { ports: number[] }).ports, kill: () => child.kill() });
    });
    child.once('exit', (code) => reject(new Error(`receivers exited ${code}`)));
  });
}

export async function run(args: string[]): Promise<void> {
  const child = arg(args, 'child', '');
  if (child === 'receivers') return receivers(Number(arg(args, 'count', '25')));
  if (child === 'sender') return sender(arg(args, 'job', ''));

  const total = Number(arg(args, 'receivers', '100'));
  const sizes = arg(args, 'sizes', '16,256').split(',').map(Number);
  const rounds = Number(arg(args, 'rounds', '3'));
  // Receivers spread over a few processes, so neither side is one event loop's worth of receiving.
  const groups = Math.min(4, total);
  const started = await Promise.all(Array.from({ length: groups }, (_, g) => startReceivers(Math.floor(total / groups) + (g < total % groups ? 1 : 0))));
  const urls = started.flatMap((s) => s.ports.map((port) => `http://127.0.0.1:${port}/push`));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-bench-fanout-'));
  try {
    for (const mib of sizes) {
      const file = makeArtifactFile(dir, { size: mib * MiB, version: `${mib}` });
      // Several rounds in alternating order, medians reported: the machine is shared and noisy.
      const runs: Record<'transport' | 'baseline', SenderResult[]> = { transport: [], baseline: [] };
      for (let round = 0; round < rounds; round++) {
        for (const mode of round % 2 === 0 ? (['baseline', 'transport'] as const) : (['transport', 'baseline'] as const)) {
          const jobFile = path.join(dir, `${mode}.json`);
          fs.writeFileSync(jobFile, JSON.stringify({ mode, artifact: file.artifact, filePath: file.filePath, urls } satisfies SenderJob));
          runs[mode].push(await runChild(['--child', 'sender', '--job', jobFile]));
        }
      }
      const summary = (list: SenderResult[]) => ({
        seconds: [...list].sort((x, y) => x.seconds - y.seconds)[Math.floor(list.length / 2)]!.seconds,
        cpuSeconds: [...list].sort((x, y) => x.cpuSeconds - y.cpuSeconds)[Math.floor(list.length / 2)]!.cpuSeconds,
        errors: list.reduce((n, r) => n + r.errors, 0),
        peakRssMb: Math.max(...list.map((r) => r.peakRssMb)),
      });
      const bytes = mib * MiB * urls.length;
      const t = summary(runs.transport);
      const b = summary(runs.baseline);
      const transportRate = bytes / MiB / t.seconds;
      const baselineRate = bytes / MiB / b.seconds;
      process.stdout.write(
        JSON.stringify({
          bench: 'fanout',
          size: `${mib}MiB`,
          receivers: urls.length,
          rounds,
          transport_mb_per_s: Math.round(transportRate),
          baseline_mb_per_s: Math.round(baselineRate),
          ratio: Math.round((transportRate / baselineRate) * 100) / 100,
          transport_cpu_s: Math.round(t.cpuSeconds * 10) / 10,
          baseline_cpu_s: Math.round(b.cpuSeconds * 10) / 10,
          peak_rss_mb: t.peakRssMb,
          baseline_peak_rss_mb: b.peakRssMb,
          errors: t.errors + b.errors,
        }) + '\n',
      );
      fs.rmSync(file.filePath, { force: true });
    }
  } finally {
    for (const s of started) s.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
