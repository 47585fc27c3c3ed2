// Release use cases: create (validate, check that every artifact exists, fill each match from
// what its artifact declares), read, list, and delete while no live rollout uses it.
import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, releaseArtifacts, timeCursor, validateReleaseInput, ValidationError, type Clock, type Release } from '../core/index.js';
import type { EventLog, Store } from '../store/index.js';

export interface ReleasePage {
  items: Release[];
  nextCursor: string | null;
  total: number;
}

export class ReleaseService {
  constructor(
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly clock: Clock,
  ) {}

  async create(raw: unknown, actor: string): Promise<Release> {
    const input = validateReleaseInput(raw);
    const ids = [...new Set(input.artifacts.map((a) => a.artifactId))];
    const found = new Map((await Promise.all(ids.map((id) => this.store.artifacts.get(id)))).filter((a) => a !== null).map((a) => [a.id, a]));
    const missing = input.artifacts.map((a, i) => ({ i, id: a.artifactId })).filter((a) => !found.has(a.id));
    if (missing.length) {
      throw new ValidationError(
        `artifact${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m.id}'`).join(', ')} do${missing.length > 1 ? '' : 'es'} not exist; upload ${missing.length > 1 ? 'them' : 'it'} first (orchestrator artifacts upload)`,
        missing.map((m) => ({ path: `artifacts.${m.i}.artifactId`, message: 'no such artifact' })),
      );
    }
    const release: Release = { id: randomUUID(), name: input.name, version: input.version, artifacts: releaseArtifacts(input, found), createdBy: actor, createdAt: new Date(this.clock.now()).toISOString() };
    const records = await this.store.transaction(async (tx) => {
      await tx.releases.create(release);
      return this.events.append([{ type: 'release.created', actor, data: { releaseId: release.id, name: release.name, version: release.version, artifacts: release.artifacts } }], tx);
    });
    this.events.publish(records);
    return release;
  }

  async get(id: string): Promise<Release> {
    const release = await this.store.releases.get(id);
    if (!release) throw new NotFoundError('release', id);
    return release;
  }

  async list(options: { name?: string; limit: number; cursor?: string }): Promise<ReleasePage> {
    const cursor = timeCursor.decode(options.cursor) ?? undefined;
    const rows = await this.store.releases.list({ name: options.name, limit: options.limit + 1, cursor });
    const items = rows.slice(0, options.limit);
    const last = items.at(-1);
    const nextCursor = rows.length > options.limit && last ? timeCursor.encode({ createdAt: Date.parse(last.createdAt), id: last.id }) : null;
    return { items, nextCursor, total: await this.store.releases.count(options.name) };
  }

  /** Deletes a release (its artifacts stay) unless a rollout that has not finished rolls it out. */
  async remove(id: string, actor: string): Promise<void> {
    const release = await this.get(id);
    if (await this.store.rollouts.isReleaseInUse(id)) throw new ConflictError(`release '${release.name}' version '${release.version}' is rolled out by a rollout that has not finished; cancel or finish it first`);
    const records = await this.store.transaction(async (tx) => {
      if (!(await tx.releases.delete(id))) throw new NotFoundError('release', id);
      return this.events.append([{ type: 'release.deleted', actor, data: { releaseId: id, name: release.name, version: release.version } }], tx);
    });
    this.events.publish(records);
  }
}
