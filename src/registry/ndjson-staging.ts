// The portable import staging: validated devices spooled to a temporary NDJSON file (as JSON arrays
// in a fixed field order, half the cost of objects), then written back in batches through the
// store's upsertMany. Within a batch the last row of an id wins.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { DeviceInput, ImportStaging } from '../core/index.js';

const SPOOL_FIELDS = ['id', 'name', 'address', 'mode', 'status', 'lastSeen', 'version', 'location', 'timezone', 'tags', 'metadata'] as const satisfies readonly (keyof DeviceInput)[];
// A device field missing from SPOOL_FIELDS would be dropped on the way: refuse it at compile time.
const spoolHasEveryField: [Exclude<keyof DeviceInput, (typeof SPOOL_FIELDS)[number]>] extends [never] ? true : never = true;
void spoolHasEveryField;

function fromSpool(text: string): DeviceInput {
  const values = JSON.parse(text) as unknown[];
  const device: Record<string, unknown> = {};
  for (let i = 0; i < SPOOL_FIELDS.length; i++) device[SPOOL_FIELDS[i]!] = values[i];
  return device as unknown as DeviceInput;
}

export type WriteBatch = (batch: DeviceInput[]) => Promise<{ created: number; updated: number }>;

export class NdjsonStaging implements ImportStaging {
  private readonly file: string;
  private readonly out: fs.WriteStream;
  private pending = '';

  constructor(
    dir: string,
    private readonly write: WriteBatch,
    private readonly batchSize = 2000,
  ) {
    this.file = path.join(dir, 'rows.ndjson');
    this.out = fs.createWriteStream(this.file);
  }

  add(device: DeviceInput): void | Promise<void> {
    this.pending += JSON.stringify(SPOOL_FIELDS.map((field) => device[field])) + '\n';
    if (this.pending.length > 1 << 20) return this.flush();
  }

  private async flush(): Promise<void> {
    const text = this.pending;
    this.pending = '';
    if (text && !this.out.write(text)) await new Promise<void>((resolve) => this.out.once('drain', () => resolve()));
  }

  async commit(onProgress?: (written: number) => void): Promise<{ created: number; updated: number }> {
    await this.flush();
    await new Promise<void>((resolve, reject) => this.out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    const counts = { created: 0, updated: 0 };
    let batch = new Map<string, DeviceInput>();
    let written = 0;
    const writeBatch = async () => {
      if (batch.size === 0) return;
      const result = await this.write([...batch.values()]);
      counts.created += result.created;
      counts.updated += result.updated;
      written += batch.size;
      batch = new Map();
      onProgress?.(written);
    };
    const lines = readline.createInterface({ input: fs.createReadStream(this.file), crlfDelay: Infinity });
    for await (const text of lines) {
      const device = fromSpool(text);
      batch.delete(device.id);
      batch.set(device.id, device);
      if (batch.size >= this.batchSize) await writeBatch();
    }
    await writeBatch();
    return counts;
  }

  async close(): Promise<void> {
    if (!this.out.closed) this.out.destroy();
    await fs.promises.rm(this.file, { force: true });
  }
}
