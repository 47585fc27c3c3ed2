// Mender device authentication: auth requests signed with the device key, authentication sets
// an operator accepts, rejects or preauthorizes, and the JWTs accepted devices use.
import { randomBytes, randomUUID } from 'node:crypto';
import { AuthError, ConflictError, NotFoundError, ValidationError, type Clock } from '../../core/index.js';
import type { DeviceService } from '../../registry/index.js';
import type { AuthSetStatus, EventLog, MenderAuthSet, Store } from '../../store/index.js';
import { canonicalPublicKey, deviceIdFor, parseAuthRequest, signJwt, verifyAuthSignature, verifyJwt } from './auth-crypto.js';

export interface MenderAuthDeps {
  store: Store;
  devices: DeviceService;
  events: EventLog;
  clock: Clock;
  /** How long a device JWT is valid (seconds). */
  jwtTtlSeconds?: number;
}

const JWT_SECRET = 'mender.jwt';

export class MenderAuthService {
  private secret: string | null = null;

  constructor(private readonly deps: MenderAuthDeps) {}

  /** The JWT key, shared by every server through the database. */
  private async jwtSecret(): Promise<string> {
    this.secret ??= await this.deps.store.mender.secret(JWT_SECRET, () => randomBytes(32).toString('base64url'), this.deps.clock.now());
    return this.secret;
  }

  /**
   * POST auth_requests: verifies the body's signature against the key in it; answers a JWT for an
   * accepted (or preauthorized) device, else throws AuthError (401, the client retries later).
   */
  async authRequest(body: Buffer, signature: string | undefined): Promise<string> {
    // No signature, no credential: refused before the body is looked at.
    if (!signature) throw new AuthError('an auth request is signed with the device key: send X-MEN-Signature');
    const request = parseAuthRequest(body);
    const pubkey = canonicalPublicKey(request.pubkey);
    if (!verifyAuthSignature(body, signature, pubkey)) throw new AuthError('the X-MEN-Signature of the auth request does not verify with the key in it');
    const deviceId = deviceIdFor(request.identity);
    // Neither a JWT nor a new pending auth set for a decommissioned device, whatever key it sends.
    if ((await this.deps.store.devices.get(deviceId))?.decommissionedAt) throw new AuthError(`device '${deviceId}' was decommissioned`);
    const now = this.deps.clock.now();
    let set = await this.deps.store.mender.authSetFor(deviceId, pubkey);
    const created = !set;
    if (!set) {
      set = await this.deps.store.mender.addAuthSet({ id: randomUUID(), deviceId, identity: request.identity, pubkey, status: 'pending' }, now);
      await this.deps.events.append([{ type: 'mender.auth-pending', actor: `device:${deviceId}`, deviceId, data: { authSetId: set.id, identity: request.identity } }]);
    }
    if (set.status === 'preauthorized') {
      await this.accept(set.id, `device:${deviceId}`);
      set = { ...set, status: 'accepted' };
    }
    // A device asking again while it waits for acceptance is not a failed authentication; a new
    // pending auth set counts, so one address cannot fill the table with keys of its own making.
    if (set.status === 'pending') throw new AuthError(`device '${deviceId}' is pending: an operator must accept it (orchestrator API: POST /api/v1/mender/auth-sets/${set.id}/accept)`, { countsAsFailure: created });
    if (set.status !== 'accepted') throw new AuthError(`device '${deviceId}' was rejected`);
    const iat = Math.floor(now / 1000);
    return signJwt({ sub: deviceId, iat, exp: iat + (this.deps.jwtTtlSeconds ?? 7 * 24 * 3600), iss: 'update-orchestrator', 'mender.device': true, 'orchestrator.auth_set': set.id }, await this.jwtSecret());
  }

  /** The device a request's `Authorization: Bearer <jwt>` speaks for; its auth set must still be accepted. */
  async authenticate(authorization: string | undefined): Promise<string> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) throw new AuthError('send Authorization: Bearer <JWT from auth_requests>');
    const claims = verifyJwt(match[1]!, await this.jwtSecret(), this.deps.clock.now());
    const set = await this.deps.store.mender.authSet(claims['orchestrator.auth_set']);
    if (set?.status === 'decommissioned') throw new AuthError('this device was decommissioned');
    if (set?.status !== 'accepted' || set.deviceId !== claims.sub) throw new AuthError('this device is no longer accepted; authenticate again');
    return claims.sub;
  }

  async list(status: AuthSetStatus | undefined, limit: number): Promise<MenderAuthSet[]> {
    return this.deps.store.mender.listAuthSets(status, limit);
  }

  /** Accepts an auth set: the device exists from now on (protocol 'mender') and gets JWTs. */
  async accept(id: string, actor: string): Promise<MenderAuthSet> {
    const set = await this.deps.store.mender.authSet(id);
    if (!set) throw new NotFoundError('auth set', id);
    await this.ensureDevice(set.deviceId, actor);
    await this.deps.store.mender.setAuthStatus(id, 'accepted', this.deps.clock.now());
    await this.deps.events.append([{ type: 'mender.device-accepted', actor, deviceId: set.deviceId, data: { authSetId: id } }]);
    return { ...set, status: 'accepted' };
  }

  async reject(id: string, actor: string): Promise<MenderAuthSet> {
    const set = await this.deps.store.mender.authSet(id);
    if (!set) throw new NotFoundError('auth set', id);
    await this.deps.store.mender.setAuthStatus(id, 'rejected', this.deps.clock.now());
    await this.deps.events.append([{ type: 'mender.device-rejected', actor, deviceId: set.deviceId, data: { authSetId: id } }]);
    return { ...set, status: 'rejected' };
  }

  /** Preauthorizes an identity and key: the device is registered now and accepted when it first asks. */
  async preauthorize(input: { identity: Record<string, unknown>; pubkey: string; deviceId?: string }, actor: string): Promise<MenderAuthSet> {
    if (typeof input.identity !== 'object' || input.identity === null || Object.keys(input.identity).length === 0) {
      throw new ValidationError('identity must be a non-empty object, as the device sends it (e.g. {"mac": "..."})', [{ path: 'identity', message: 'is required' }]);
    }
    const pubkey = canonicalPublicKey(input.pubkey);
    const deviceId = input.deviceId ?? deviceIdFor(input.identity);
    if (deviceIdFor(input.identity) !== deviceId && input.identity.device_id !== deviceId) {
      throw new ValidationError(`deviceId must be the one the identity maps to ('${deviceIdFor(input.identity)}'); put "device_id": "${deviceId}" in the device's identity to choose it`, [{ path: 'deviceId', message: 'does not match the identity' }]);
    }
    const existing = await this.deps.store.mender.authSetFor(deviceId, pubkey);
    if (existing) throw new ConflictError(`an auth set for device '${deviceId}' with this key exists already (${existing.status})`);
    await this.ensureDevice(deviceId, actor);
    const set = await this.deps.store.mender.addAuthSet({ id: randomUUID(), deviceId, identity: input.identity, pubkey, status: 'preauthorized' }, this.deps.clock.now());
    await this.deps.events.append([{ type: 'mender.device-preauthorized', actor, deviceId, data: { authSetId: set.id } }]);
    return set;
  }

  private async ensureDevice(deviceId: string, actor: string): Promise<void> {
    const decommissioned = (await this.deps.store.devices.get(deviceId))?.decommissionedAt;
    if (decommissioned) throw new ConflictError(`device '${deviceId}' was decommissioned at ${decommissioned}; it cannot be accepted again (register the hardware under a new identity)`);
    if ((await this.deps.store.devices.protocol(deviceId)) === null) {
      try {
        await this.deps.devices.create({ id: deviceId, name: deviceId, mode: 'pull' }, actor);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
    await this.deps.store.devices.setProtocol(deviceId, 'mender');
  }
}
