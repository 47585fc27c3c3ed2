// Bundle recognition and metadata extraction from files on disk, as the upload path calls it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectBundle, sniffBundle } from './artifact-inspector.js';
import { buildCpio } from './hawkbit/swu.fixtures.js';
import { buildMenderArtifact, buildTar } from './mender/mender.fixtures.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inspect-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, bytes: Buffer | string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
};

describe('inspectBundle', () => {
  it('recognises .swu and .mender by their first bytes and nothing else', () => {
    expect(sniffBundle(buildCpio([['sw-description', 'x']]))).toBe('swu');
    expect(sniffBundle(buildMenderArtifact({ name: 'a', deviceTypes: ['t'], files: [['f', 'x']] }))).toBe('mender');
    expect(sniffBundle(buildTar([['other', 'x']]))).toBeNull();
    expect(sniffBundle(Buffer.from('plain firmware'))).toBeNull();
  });

  it('extracts .swu version and hardware compatibility', async () => {
    const payload = 'fw';
    const sha = createHash('sha256').update(payload).digest('hex');
    const file = write('a.swu', buildCpio([['sw-description', `software = { version = "3.1"; hardware-compatibility = ["1.0"]; files: ( { filename = "fw"; path = "/tmp/fw"; sha256 = "${sha}"; } ); }`], ['fw', payload]]));
    expect(await inspectBundle(file)).toEqual({
      format: 'swu',
      swu: { version: '3.1', description: null, hardwareCompatibility: ['1.0'], signed: false, payloads: [{ kind: 'files', filename: 'fw', target: '/tmp/fw' }] },
    });
  });

  it('extracts .mender name and device types', async () => {
    const file = write('a.mender', buildMenderArtifact({ name: 'rel-9', deviceTypes: ['pos'], files: [['f', 'x']] }));
    expect(await inspectBundle(file)).toMatchObject({ format: 'mender', mender: { artifactName: 'rel-9', deviceTypes: ['pos'], payloadTypes: ['single-file'] } });
  });

  it('leaves other files alone and refuses a malformed bundle', async () => {
    expect(await inspectBundle(write('fw.bin', 'plain firmware bytes'))).toEqual({});
    await expect(inspectBundle(write('bad.swu', buildCpio([['app.bin', 'x']])))).rejects.toThrow(/first member must be 'sw-description'/);
  });
});
