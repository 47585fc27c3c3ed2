// Test support: the three kinds of artifact a mixed fleet takes, as bytes (a .swu for SWUpdate
// over hawkBit, a .mender for mender-client, a plain file for agents and push devices), and
// their upload through the operator API.
import { createHash } from 'node:crypto';
import { buildCpio } from '../protocols/hawkbit/swu.fixtures.js';
import { buildMenderArtifact } from '../protocols/mender/mender.fixtures.js';
import type { TestApp } from './app.js';

/** A .swu whose sw-description declares these hardware revisions. */
export function swuBundle(version: string, hardware: string[]): Buffer {
  const payload = `swu payload ${version}`;
  const sha = createHash('sha256').update(payload).digest('hex');
  return buildCpio([['sw-description', `software = { version = "${version}"; hardware-compatibility = [${hardware.map((h) => `"${h}"`).join(', ')}]; files: ( { filename = "fw"; path = "/tmp/fw"; sha256 = "${sha}"; } ); }`], ['fw', payload]]);
}

/** A .mender artifact for these device types. */
export function menderBundle(name: string, deviceTypes: string[]): Buffer {
  return buildMenderArtifact({ name, deviceTypes, files: [['app.bin', `mender payload ${name}`]] });
}

/** Uploads bytes as an artifact and answers its id. */
export async function uploadBytes(t: TestApp, name: string, version: string, bytes: Buffer | string): Promise<string> {
  const response = await t.request('POST', `/api/v1/artifacts?name=${name}&version=${version}`, { token: t.tokens.operator, raw: typeof bytes === 'string' ? bytes : bytes, headers: { 'content-type': 'application/octet-stream' } });
  if (response.status !== 201 && response.status !== 200) throw new Error(`upload of ${name} ${version} answered ${response.status}: ${response.text}`);
  return (response.json() as { id: string }).id;
}
