// `npm run bench -- sftp [--deliveries 20] [--size 32] [--rounds 3]`: N deliveries of an S MiB
// artifact through SftpTransport (one pooled connection, one after another) versus OpenSSH's own
// `sftp -b` client putting the same file to the same sshd (one connection, one put after another).
// Needs root (the benchmark starts its own sshd). Median of rounds; one JSON line.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SftpTransport } from '../delivery/ssh/sftp.transport.js';
import { makeArtifactFile, makeDevice } from '../testing/delivery.js';
import { makeSshKey, sshdUnavailable, startSshd } from '../testing/sshd.js';

const MiB = 1024 * 1024;

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

function sftpBatch(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sftp', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function run(args: string[]): Promise<void> {
  const unavailable = sshdUnavailable();
  if (unavailable) {
    process.stdout.write(JSON.stringify({ bench: 'sftp', skipped: unavailable }) + '\n');
    return;
  }
  const deliveries = Number(arg(args, 'deliveries', '20'));
  const mib = Number(arg(args, 'size', '32'));
  const rounds = Number(arg(args, 'rounds', '3'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-bench-sftp-'));
  const key = makeSshKey(work, 'bench');
  const sshd = await startSshd({ authorizedKeys: [key.publicKey] });
  const file = makeArtifactFile(work, { size: mib * MiB });
  const times = { transport: [] as number[], baseline: [] as number[] };
  let errors = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['baseline', 'transport'] as const) : (['transport', 'baseline'] as const);
      for (const mode of order) {
        const target = path.join(work, 'remote', mode);
        fs.rmSync(target, { recursive: true, force: true });
        const started = performance.now();
        if (mode === 'transport') {
          const transport = new SftpTransport({ keyPath: key.privateKey, knownHostsPath: sshd.knownHosts, agentSocket: '' });
          for (let i = 0; i < deliveries; i++) {
            const device = makeDevice(`dev-${i}`, 'ssh', `ssh://${sshd.user}@127.0.0.1:${sshd.port}${target}/dev-${i}`);
            await transport.deliver({ updateId: `b-${i}`, device, artifact: file.artifact, filePath: file.filePath }).catch(() => void errors++);
          }
          await transport.close();
        } else {
          const batch = path.join(work, 'batch.txt');
          const lines = [`-mkdir ${path.join(work, 'remote')}`, `-mkdir ${target}`];
          for (let i = 0; i < deliveries; i++) lines.push(`-mkdir ${target}/dev-${i}`, `put ${file.filePath} ${target}/dev-${i}/firmware-1.0.0`);
          fs.writeFileSync(batch, lines.join('\n') + '\n');
          const result = await sftpBatch(['-q', '-b', batch, '-i', key.privateKey, '-P', String(sshd.port), '-o', `UserKnownHostsFile=${sshd.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `${sshd.user}@127.0.0.1`]);
          if (result.code !== 0) {
            errors++;
            process.stderr.write(`sftp -b failed: ${result.stderr}\n`);
          }
        }
        times[mode].push((performance.now() - started) / 1000);
        for (let i = 0; i < deliveries; i++) {
          const installed = path.join(target, `dev-${i}`, 'firmware-1.0.0');
          if (!fs.existsSync(installed) || fs.statSync(installed).size !== file.artifact.size) errors++;
        }
      }
    }
    const bytes = deliveries * mib;
    const transportRate = bytes / median(times.transport);
    const baselineRate = bytes / median(times.baseline);
    process.stdout.write(
      JSON.stringify({ bench: 'sftp', size: `${mib}MiB`, deliveries, rounds, transport_mb_per_s: Math.round(transportRate), baseline_mb_per_s: Math.round(baselineRate), ratio: Math.round((transportRate / baselineRate) * 100) / 100, errors }) + '\n',
    );
  } finally {
    await sshd.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
