// Import staging for device credentials, wrapped around the rows' staging (SQLite or PostgreSQL):
// each row's metadata.auth values are sealed at once and kept, sealed, in a file of the import's
// temporary directory (never in plaintext, never in memory all together); the rows go on with
// "[set]" in their place. After the rows are committed the credentials are written in file order
// (a later row of an id replaces an earlier one), and credentials that the imported rows no longer
// name are removed. A crash between the two leaves devices that show "[set]" for a credential not
// yet stored; a push to one fails naming that credential (never pushes without it) until the
// import is run again.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Kysely } from 'kysely';
import { splitSecrets, type DeviceInput, type ImportStaging } from '../core/index.js';
import type { DeviceSecretRepository, SealedSecrets } from './device-secret.repository.js';
import type { Database } from './schema.js';
import { atomic } from './atomic.sql.js';

/** Sealed lines buffered before they are appended to the file; devices written per transaction. */
const FLUSH_LINES = 1000;

export class SecretStaging implements ImportStaging {
  private readonly file: string;
  private lines: string[] = [];
  private staged = 0;

  constructor(
    private readonly rows: ImportStaging,
    private readonly db: Kysely<Database>,
    private readonly secrets: DeviceSecretRepository,
    dir: string,
    private readonly now: number,
  ) {
    this.file = path.join(dir, 'secrets.ndjson');
  }

  add(device: DeviceInput): void | Promise<void> {
    const split = splitSecrets(device.metadata);
    if (split.keys.length > 0) {
      this.lines.push(JSON.stringify(this.secrets.seal(device.id, split)));
      this.staged++;
      if (this.lines.length >= FLUSH_LINES) this.flush();
    }
    return this.rows.add(split.keys.length > 0 ? { ...device, metadata: split.metadata } : device);
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    fs.appendFileSync(this.file, this.lines.join('\n') + '\n', { mode: 0o600 });
    this.lines = [];
  }

  async commit(onProgress?: (written: number) => void): Promise<{ created: number; updated: number }> {
    const counts = await this.rows.commit(onProgress);
    this.flush();
    if (this.staged > 0) {
      let batch: SealedSecrets[] = [];
      const write = async () => {
        const items = batch;
        batch = [];
        await atomic(this.db, (trx) => this.secrets.apply(trx, items, this.now));
      };
      for await (const line of readline.createInterface({ input: fs.createReadStream(this.file), crlfDelay: Infinity })) {
        if (line === '') continue;
        batch.push(JSON.parse(line) as SealedSecrets);
        if (batch.length >= FLUSH_LINES) await write();
      }
      await write();
    }
    // Imported rows replace devices wholesale: one that names no credential now keeps none.
    await this.secrets.prune();
    return counts;
  }

  async close(): Promise<void> {
    this.lines = [];
    await this.rows.close();
    await fs.promises.rm(this.file, { force: true });
  }
}
