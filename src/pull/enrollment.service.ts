// Device identity for pull devices: per-device bearer tokens issued by operators, self-enrollment
// with a fleet enrollment key (pending until accepted, unless the key auto-accepts), and the keys.
import { AuthError, ConflictError, NotFoundError, validateDevice, ValidationError, type Clock, type Device } from '../core/index.js';
import type { EnrollmentDefaults, EnrollmentKeyRecord, EnrollmentState, EventLog, Store } from '../store/index.js';

/** What a device sends to enroll itself. */
export interface EnrollRequest {
  enrollmentKey: string;
  id: string;
  name?: string;
  version?: string | null;
  location?: string | null;
  timezone?: string;
  tags?: Record<string, string>;
  metadata?: Record<string, unknown>;
}

export interface EnrollResult {
  deviceId: string;
  token: string;
  enrollment: EnrollmentState;
}

export interface EnrollmentServiceDeps {
  store: Pick<Store, 'devices' | 'tokens' | 'enrollment' | 'deviceReports'>;
  events: EventLog;
  clock: Clock;
  /** Forgets cached token lookups of these devices on every server (after a revocation). */
  invalidateTokens: (deviceIds: string[]) => void;
  /** Told when a device's target may have changed (accepted, rejected). */
  targetChanged?: (deviceIds: string[]) => void;
}

const ENROLLMENT_KEY_REFUSED = 'the enrollment key is unknown, revoked, expired or used up';

/** Bounds of an enrollment key's settings: beyond them an expiry date is no longer a date. */
export const ENROLLMENT_KEY_LIMITS = { maxUses: 2 ** 31 - 1, expiresInSeconds: 10 * 365 * 24 * 3600 } as const;

export class EnrollmentService {
  constructor(private readonly deps: EnrollmentServiceDeps) {}

  async createKey(input: { name: string; autoAccept?: boolean; defaults?: EnrollmentDefaults; maxUses?: number | null; expiresInSeconds?: number | null }, actor: string): Promise<{ key: string; record: EnrollmentKeyRecord }> {
    const now = this.deps.clock.now();
    const errors = [
      ...(input.name.trim() === '' ? [{ path: 'name', message: 'must not be empty' }] : []),
      ...outOfRange('maxUses', input.maxUses, ENROLLMENT_KEY_LIMITS.maxUses),
      ...outOfRange('expiresInSeconds', input.expiresInSeconds, ENROLLMENT_KEY_LIMITS.expiresInSeconds),
    ];
    if (errors.length) throw new ValidationError(`invalid enrollment key: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors);
    if (input.defaults) validateDevice({ id: 'defaults-check', ...input.defaults });
    const created = await this.deps.store.enrollment.createKey(
      {
        name: input.name,
        autoAccept: input.autoAccept ?? false,
        defaults: input.defaults ?? {},
        maxUses: input.maxUses ?? null,
        expiresAt: input.expiresInSeconds ? now + input.expiresInSeconds * 1000 : null,
      },
      now,
    );
    await this.deps.events.append([{ type: 'enrollment-key.created', actor, data: { id: created.record.id, name: input.name, autoAccept: created.record.autoAccept } }]);
    return created;
  }

  listKeys(): Promise<EnrollmentKeyRecord[]> {
    return this.deps.store.enrollment.listKeys();
  }

  async revokeKey(id: string, actor: string): Promise<void> {
    if (!(await this.deps.store.enrollment.revokeKey(id, this.deps.clock.now()))) throw new NotFoundError('live enrollment key', id);
    await this.deps.events.append([{ type: 'enrollment-key.revoked', actor, data: { id } }]);
  }

  /** A device registers itself with an enrollment key and receives its own token. */
  /**
   * The enrollment key is the credential of a device that enrolls: refused with 401 (counted by the
   * rate limit) before anything else about the request is checked. Uses nothing; enroll does.
   */
  async checkKey(key: unknown): Promise<void> {
    if (typeof key !== 'string' || key === '' || key.length > 200) throw new AuthError('send a live enrollment key in "enrollmentKey"');
    if (!(await this.deps.store.enrollment.isLive(key, this.deps.clock.now()))) throw new AuthError(ENROLLMENT_KEY_REFUSED);
  }

  async enroll(request: EnrollRequest): Promise<EnrollResult> {
    const now = this.deps.clock.now();
    const key = await this.deps.store.enrollment.consumeKey(request.enrollmentKey, now);
    if (!key) throw new AuthError(ENROLLMENT_KEY_REFUSED);
    const { enrollmentKey: _secret, ...fields } = request;
    const input = validateDevice({
      ...fields,
      name: request.name ?? request.id,
      mode: 'pull',
      location: request.location ?? key.defaults.location,
      timezone: request.timezone ?? key.defaults.timezone,
      tags: { ...(key.defaults.tags ?? {}), ...(request.tags ?? {}) },
    });
    const existing = await this.deps.store.devices.get(input.id);
    if (existing?.decommissionedAt) throw new ConflictError(`device '${input.id}' was decommissioned; enroll the hardware under a new id`);
    if (existing) {
      throw new ConflictError(`device '${input.id}' is already registered; an operator can issue it a token (orchestrator devices token ${input.id})`);
    }
    await this.deps.store.devices.create(input, now);
    const enrollment: EnrollmentState = key.autoAccept ? 'accepted' : 'pending';
    await this.deps.store.enrollment.setEnrollment(input.id, enrollment, now);
    await this.deps.store.deviceReports.recordEnrollment(input.id, key.id, now);
    const { token } = await this.deps.store.tokens.create({ kind: 'device', deviceId: input.id, name: `device-${input.id}` }, now);
    await this.deps.events.append([{ type: 'device.enrolled', actor: `device:${input.id}`, deviceId: input.id, data: { enrollmentKeyId: key.id, enrollment } }]);
    return { deviceId: input.id, token, enrollment };
  }

  /** Issues a new token for a device, revoking the ones it had. */
  async issueToken(deviceId: string, actor: string): Promise<{ token: string; deviceId: string }> {
    const device = await this.requireDevice(deviceId);
    const now = this.deps.clock.now();
    await this.deps.store.tokens.revokeForDevice(device.id, now);
    this.deps.invalidateTokens([device.id]);
    const { token } = await this.deps.store.tokens.create({ kind: 'device', deviceId: device.id, name: `device-${device.id}` }, now);
    await this.deps.events.append([{ type: 'device.token-issued', actor, deviceId: device.id }]);
    return { token, deviceId: device.id };
  }

  /** Revokes every token of a device. */
  async revokeTokens(deviceId: string, actor: string): Promise<number> {
    await this.requireDevice(deviceId);
    const count = await this.deps.store.tokens.revokeForDevice(deviceId, this.deps.clock.now());
    this.deps.invalidateTokens([deviceId]);
    await this.deps.events.append([{ type: 'device.token-revoked', actor, deviceId, data: { count } }]);
    return count;
  }

  async decide(deviceId: string, decision: 'accepted' | 'rejected', actor: string): Promise<{ deviceId: string; enrollment: EnrollmentState }> {
    await this.requireDevice(deviceId);
    const now = this.deps.clock.now();
    await this.deps.store.enrollment.setEnrollment(deviceId, decision, now);
    if (decision === 'rejected') {
      await this.deps.store.tokens.revokeForDevice(deviceId, now);
      this.deps.invalidateTokens([deviceId]);
    }
    this.deps.targetChanged?.([deviceId]);
    await this.deps.events.append([{ type: decision === 'accepted' ? 'device.accepted' : 'device.rejected', actor, deviceId }]);
    return { deviceId, enrollment: decision };
  }

  pending(limit = 1000) {
    return this.deps.store.enrollment.pending(limit);
  }

  private async requireDevice(deviceId: string): Promise<Device> {
    const device = await this.deps.store.devices.get(deviceId);
    if (!device) throw new NotFoundError('device', deviceId);
    if (device.decommissionedAt) throw new ConflictError(`device '${deviceId}' was decommissioned at ${device.decommissionedAt}: it gets no credential and no enrollment decision`);
    return device;
  }
}

function outOfRange(path: string, value: number | null | undefined, max: number): { path: string; message: string }[] {
  if (value === null || value === undefined || (Number.isInteger(value) && value >= 1 && value <= max)) return [];
  return [{ path, message: `must be a whole number from 1 to ${max}` }];
}
