// Saved groups: create, list with live member counts, rename, change a dynamic group's filter,
// add and remove a static group's devices, delete while nothing uses it. Each change is an event.
import { randomBytes } from 'node:crypto';
import { ConflictError, GROUP_ID_PATTERN, idCursor, NotFoundError, validateGroupCreate, validateGroupPatch, ValidationError, type Clock, type Group, type GroupView } from '../core/index.js';
import type { EventLog, Store } from '../store/index.js';

export const newGroupId = (): string => `grp_${randomBytes(12).toString('hex')}`;

export class GroupService {
  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly clock: Clock,
    /** Told after a change of membership: cached device totals may be stale. */
    private readonly changed: () => void = () => {},
  ) {}

  /** The group a path names: its id, or its name (unique, or in `tenant`). */
  async find(ref: string, tenant?: string): Promise<Group> {
    const found = await this.store.groups.find(ref, tenant);
    const group = found.find((g) => g.id === ref) ?? (found.length === 1 ? found[0] : undefined);
    if (group) return group;
    if (found.length > 1) throw new ValidationError(`group name '${ref}' is used in tenants ${found.map((g) => g.tenant).join(', ')}: give its id, or ?tenant=`, [{ path: 'id', message: 'is ambiguous' }]);
    throw new NotFoundError('group', ref);
  }

  async get(ref: string, tenant?: string): Promise<GroupView> {
    const group = await this.find(ref, tenant);
    const counts = await this.store.groups.memberCounts([group]);
    return { ...group, members: counts.get(group.id) ?? 0 };
  }

  async list(options: { tenant?: string; limit: number; cursor?: string }): Promise<{ items: GroupView[]; nextCursor: string | null }> {
    const after = idCursor.decode(options.cursor);
    if (after !== null && !GROUP_ID_PATTERN.test(after)) throw new ValidationError('cursor is not one this server gave', [{ path: 'cursor', message: 'is not a group cursor' }]);
    return this.store.groups.list({ tenant: options.tenant, limit: options.limit, after });
  }

  async create(input: unknown, actor: string): Promise<GroupView> {
    const valid = validateGroupCreate(input);
    const now = this.clock.now();
    const id = newGroupId();
    const records = await this.store.transaction(async (tx) => {
      const group = await tx.groups.create({ id, tenant: valid.tenant, name: valid.name, kind: valid.kind, filter: valid.filter }, now);
      const added = await tx.groups.addMembers(group, valid.devices);
      return this.events.append([{ type: 'group.created', actor, data: { groupId: id, name: group.name, tenant: group.tenant, kind: group.kind, filter: group.filter, devices: added } }], tx);
    });
    this.events.publish(records);
    this.changed();
    return this.get(id);
  }

  async patch(ref: string, input: unknown, actor: string, tenant?: string): Promise<GroupView> {
    const group = await this.find(ref, tenant);
    const patch = validateGroupPatch(input, group);
    if (patch.name !== undefined && patch.name !== group.name) {
      // Rollouts and policies may name the group: a rename would leave them pointing at nothing.
      const users = await this.store.groups.references(group);
      if (users.rollouts.length || users.policies.length) throw new ConflictError(`group '${group.name}' cannot be renamed while ${describe(users)} name it; refer to it by id (${group.id}) or finish them first`);
    }
    const records = await this.store.transaction(async (tx) => {
      if (patch.name !== undefined || patch.filter !== undefined) await tx.groups.update(group.id, { name: patch.name, filter: patch.filter }, this.clock.now());
      else await tx.groups.update(group.id, {}, this.clock.now());
      const added = await tx.groups.addMembers(group, patch.add);
      const removed = await tx.groups.removeMembers(group.id, patch.remove);
      const changes: Record<string, unknown> = {};
      if (patch.name !== undefined) changes.name = patch.name;
      if (patch.filter !== undefined) changes.filter = patch.filter;
      if (patch.add.length) changes.added = added;
      if (patch.remove.length) changes.removed = removed;
      return this.events.append([{ type: 'group.updated', actor, data: { groupId: group.id, name: patch.name ?? group.name, changes } }], tx);
    });
    this.events.publish(records);
    this.changed();
    return this.get(group.id);
  }

  /** Deletes a group; 409 while an unfinished rollout or a policy names it. */
  async delete(ref: string, actor: string, tenant?: string): Promise<void> {
    const group = await this.find(ref, tenant);
    const users = await this.store.groups.references(group);
    if (users.rollouts.length || users.policies.length) throw new ConflictError(`group '${group.name}' is used by ${describe(users)}; finish or cancel the rollouts and change the policies first`);
    await this.store.groups.delete(group.id);
    await this.events.append([{ type: 'group.deleted', actor, data: { groupId: group.id, name: group.name, tenant: group.tenant } }]);
    this.changed();
  }
}

function describe(users: { rollouts: { id: string; name: string }[]; policies: { id: string; name: string }[] }): string {
  const parts: string[] = [];
  if (users.rollouts.length) parts.push(`rollout(s) ${users.rollouts.map((r) => r.name || r.id).join(', ')}`);
  if (users.policies.length) parts.push(`polic(ies) ${users.policies.map((p) => p.name).join(', ')}`);
  return parts.join(' and ');
}
