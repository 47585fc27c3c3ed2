// Test support: a Mender device speaking the device API as mender-client does (signed auth
// request, deployments/next, status reports), for tests that drive the protocol by hand.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { TestApp } from './app.js';

export interface MenderDevice {
  identity: Record<string, string>;
  token: string;
  /** POST deployments/next with these provides. */
  next(provides: Record<string, string>): Promise<{ status: number; json: () => unknown }>;
  /** PUT deployments/{id}/status. */
  status(deploymentId: string, status: string): Promise<number>;
}

/** A preauthorized device (ed25519 key) that authenticated and got its JWT. */
export async function menderDevice(t: TestApp, identity: Record<string, string>): Promise<MenderDevice> {
  const pair = generateKeyPairSync('ed25519');
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const pre = await t.request('POST', '/api/v1/mender/preauthorize', { token: t.tokens.operator, body: { identity, pubkey: pem } });
  if (pre.status !== 201) throw new Error(`preauthorize answered ${pre.status}: ${pre.text}`);
  const token = await authenticate(t.url, identity, pem, pair.privateKey);
  const call = (method: string, path: string, body: unknown) =>
    t.request(method, path, { token: null, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, raw: JSON.stringify(body) });
  return {
    identity,
    token,
    next: (provides) => call('POST', '/api/devices/v2/deployments/device/deployments/next', { device_provides: provides, update_control_map: false }),
    status: async (id, status) => (await call('PUT', `/api/devices/v1/deployments/device/deployments/${id}/status`, { status })).status,
  };
}

async function authenticate(url: string, identity: Record<string, string>, pem: string, key: KeyObject): Promise<string> {
  const body = Buffer.from(JSON.stringify({ id_data: JSON.stringify(identity), pubkey: pem, tenant_token: '' }));
  const response = await fetch(`${url}/api/devices/v1/authentication/auth_requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-men-signature': sign(null, body, key).toString('base64') },
    body,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`auth request answered ${response.status}: ${text}`);
  return text;
}
