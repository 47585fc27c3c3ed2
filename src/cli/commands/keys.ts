// `orchestrator keys generate --out PREFIX`: an ed25519 signing key pair for artifacts.
// PREFIX.key is the private key (mode 0600), PREFIX.pub the public key devices and servers trust.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { generateSigningKeyPair, keyFingerprint } from '../../core/index.js';
import { CliError } from '../client.js';
import { printJson } from '../output.js';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('artifact signing keys (ed25519)');
  keys
    .command('generate')
    .description('write PREFIX.key (private, mode 0600) and PREFIX.pub (public)')
    .requiredOption('-o, --out <prefix>', 'path prefix of the two files, e.g. ./keys/release')
    .option('--force', 'overwrite existing files')
    .option('--json', 'print JSON')
    .action((o: { out: string; force?: boolean; json?: boolean }) => {
      const privateFile = path.resolve(`${o.out}.key`);
      const publicFile = path.resolve(`${o.out}.pub`);
      for (const file of [privateFile, publicFile]) {
        if (!o.force && fs.existsSync(file)) throw new CliError(`${file} exists; pass --force to overwrite it`, 2);
      }
      const pair = generateSigningKeyPair();
      fs.mkdirSync(path.dirname(privateFile), { recursive: true });
      // Created with 0600 from the start (not chmod afterwards) so the key is never readable by others.
      fs.rmSync(privateFile, { force: true });
      fs.writeFileSync(privateFile, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
      fs.writeFileSync(publicFile, pair.publicKeyPem, { mode: 0o644 });
      const result = { privateKey: privateFile, publicKey: publicFile, fingerprint: keyFingerprint(pair.publicKeyPem) };
      if (o.json) printJson(result);
      else process.stdout.write(`wrote ${privateFile} (keep it secret) and ${publicFile}\nfingerprint ${result.fingerprint}\n`);
    });
}
