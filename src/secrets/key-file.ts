// The secrets key file: 32 random bytes, base64, that seal device credentials at rest
// (src/core/secret-box.ts). Created 0600 on first start in the data directory, or named by
// ORCHESTRATOR_SECRETS_KEY_FILE; every server of one database needs the same file.
import fs from 'node:fs';
import path from 'node:path';
import { SECRET_KEY_BYTES, SecretBox } from '../core/index.js';

export interface SecretsKey {
  box: SecretBox;
  file: string;
  /** Made just now (there was no file). */
  created: boolean;
  /** Group or others may read it (the start warns). */
  readableByOthers: boolean;
}

function parse(file: string, text: string): SecretBox {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== SECRET_KEY_BYTES || key.toString('base64') !== text.trim()) {
    throw new Error(`the secrets key file '${file}' does not hold a key: it must be ${SECRET_KEY_BYTES} bytes in base64 (44 characters), as the server writes it on first start`);
  }
  return new SecretBox(key);
}

/** Reads the key file, creating it (0600, a fresh random key) when there is none. */
export function openSecretsKey(file: string): SecretsKey {
  let created = false;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the secrets key file '${file}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    text = SecretBox.generateKey().toString('base64');
    // Written whole under a temporary name, then linked into place: a server starting beside this
    // one never reads a half-written key, and link() fails if the other one made it first.
    const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
    try {
      fs.writeFileSync(temp, `${text}\n`, { mode: 0o600, flag: 'wx' });
      fs.linkSync(temp, file);
      created = true;
    } catch (writeError) {
      // Another process sharing the data directory made it first: use that one.
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create the secrets key file '${file}' (${(writeError as NodeJS.ErrnoException).code ?? (writeError as Error).message})`);
      text = fs.readFileSync(file, 'utf8');
    } finally {
      fs.rmSync(temp, { force: true });
    }
  }
  const readableByOthers = process.platform !== 'win32' && (fs.statSync(file).mode & 0o077) !== 0;
  return { box: parse(file, text), file, created, readableByOthers };
}
