// Policies (seed 004): CRUD with validation, "which policies would this image trigger", and the
// trigger itself: an image artifact for the pushed reference, then one rollout per matching policy
// created through the rollout service (never by writing its tables). A policy rolls an image out
// once: a repeated push of the same digest (or of the same tag, when the registry sends no
// digest) answers the rollout it started before, whatever else differs in the payload.
import { randomUUID } from 'node:crypto';
import { artifactFieldProblem, ConflictError, NotFoundError, parseDeviceFilter, parseImageRef, validateRolloutSpec, ValidationError, type Artifact, type Clock, type DeviceFilter, type ErrorDetail } from '../core/index.js';
import type { EventLog } from '../store/index.js';
import { imageMatches, imagePatternProblem } from './image-match.js';
import type { Policy, PolicyRepository, PolicyWrite } from '../store/index.js';
import type { RegistryPush } from './registry-payload.js';

/** Creates a rollout from a request body (the rollout service's create). */
export type RolloutCreator = (input: Record<string, unknown>, actor: string) => Promise<{ id: string; status?: string }>;

/** Records image artifacts (the artifact service's addImage). */
export interface ImageArtifacts {
  addImage(input: { name: string; version: string; imageRef: string; metadata?: Record<string, unknown> }, actor: string): Promise<{ artifact: Artifact; created: boolean }>;
}

export interface PolicyServiceDeps {
  policies: PolicyRepository;
  events: EventLog;
  clock: Clock;
  artifacts: ImageArtifacts;
  /** Absent until the rollout capability is wired; triggers then fail with a clear reason. */
  createRollout?: RolloutCreator;
  /** Resolves a filter's `group` (a 400 when it names none); absent: not checked before a trigger. */
  groups?: { resolve(filter: DeviceFilter): Promise<DeviceFilter> };
}

/** What one matching policy did with a push. */
export interface TriggerResult {
  policyId: string;
  policyName: string;
  /** The rollout this push started. */
  rolloutId: string | null;
  error: string | null;
  /** The rollout the policy started for this image before (nothing new was started), or null. */
  existingRolloutId: string | null;
}

/** What identifies a pushed image for "already rolled out": its digest when known, else its tag. */
export function imageKey(push: RegistryPush): string {
  const ref = parseImageRef(push.imageRef);
  const name = `${ref.registry ?? 'docker.io'}/${ref.repository}`;
  return ref.digest ? `${name}@${ref.digest}` : `${name}:${ref.tag ?? push.tag}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const TEMPLATE_FORBIDDEN = ['artifactId', 'filter'];

export class PolicyService {
  constructor(private readonly deps: PolicyServiceDeps) {}

  /** Validates a create/replace body; `base` fills absent fields on PATCH. */
  private validate(raw: unknown, base?: Policy): PolicyWrite {
    const errors: ErrorDetail[] = [];
    const input: Obj = isObj(raw) ? raw : {};
    if (!isObj(raw)) errors.push({ message: 'the policy must be a JSON object' });
    for (const key of Object.keys(input)) if (!['name', 'image', 'filter', 'template', 'enabled'].includes(key)) errors.push({ path: key, message: 'is not a policy field (name, image, filter, template, enabled)' });
    const name = input.name ?? base?.name;
    if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._ -]{0,127}$/.test(name)) errors.push({ path: 'name', message: 'is required: 1-128 letters, digits, space, . _ -' });
    const image = input.image ?? base?.image;
    const imageProblem = imagePatternProblem(image);
    if (imageProblem) errors.push({ path: 'image', message: imageProblem });
    const filter = input.filter ?? base?.filter ?? {};
    if (!isObj(filter)) errors.push({ path: 'filter', message: 'must be an object with the device list filter keys (status, location, version, tag, ...)' });
    else {
      try {
        parseDeviceFilter(filter);
      } catch (error) {
        for (const d of (error as ValidationError).details ?? [{ message: (error as Error).message }]) errors.push({ path: `filter.${d.path ?? ''}`, message: d.message });
      }
    }
    const template = input.template ?? base?.template ?? {};
    if (!isObj(template)) errors.push({ path: 'template', message: 'must be an object of rollout fields (strategy, phases, errorThreshold, window, maxConcurrency, ...)' });
    else {
      for (const key of TEMPLATE_FORBIDDEN) if (key in template) errors.push({ path: `template.${key}`, message: `is set by the policy (${key === 'filter' ? 'use the policy filter' : 'the pushed image'})` });
      try {
        validateRolloutSpec({ ...template, artifactId: 'policy-template', filter: isObj(filter) ? filter : {} }, this.deps.clock.now());
      } catch (error) {
        for (const d of (error as ValidationError).details ?? [{ message: (error as Error).message }]) if (!d.path?.startsWith('filter')) errors.push({ path: `template.${d.path ?? ''}`, message: d.message });
      }
    }
    const enabled = input.enabled ?? base?.enabled ?? true;
    if (typeof enabled !== 'boolean') errors.push({ path: 'enabled', message: 'must be true or false' });
    if (errors.length) throw new ValidationError(`invalid policy: ${errors.map((e) => (e.path ? `${e.path} ${e.message}` : e.message)).join('; ')}`, errors);
    return { name: name as string, image: image as string, filter: filter as Obj, template: template as Obj, enabled: enabled as boolean };
  }

  /** A policy's filter may name a group: it must exist when the policy is written. */
  private async checkGroup(input: PolicyWrite): Promise<void> {
    const filter = parseDeviceFilter(input.filter);
    if (!filter.group || !this.deps.groups) return;
    try {
      await this.deps.groups.resolve(filter);
    } catch (error) {
      if (error instanceof ValidationError) throw new ValidationError(`invalid policy: filter.${error.message}`, error.details.map((d) => ({ ...d, path: `filter.${d.path ?? ''}` })));
      throw error;
    }
  }

  async create(raw: unknown, actor: string): Promise<Policy> {
    const input = this.validate(raw);
    await this.checkGroup(input);
    if (await this.deps.policies.findByName(input.name)) throw new ConflictError(`a policy named '${input.name}' exists; choose another name or PATCH it`);
    const policy = await this.deps.policies.create(randomUUID(), input, actor, this.deps.clock.now());
    await this.deps.events.append([{ type: 'policy.created', actor, data: { policyId: policy.id, name: policy.name, image: policy.image } }]);
    return policy;
  }

  async patch(id: string, raw: unknown, actor: string): Promise<Policy> {
    const current = await this.get(id);
    const input = this.validate(raw, current);
    await this.checkGroup(input);
    const other = await this.deps.policies.findByName(input.name);
    if (other && other.id !== id) throw new ConflictError(`a policy named '${input.name}' exists`);
    const policy = (await this.deps.policies.update(id, input, this.deps.clock.now())) ?? current;
    await this.deps.events.append([{ type: 'policy.updated', actor, data: { policyId: id, name: policy.name, image: policy.image, enabled: policy.enabled } }]);
    return policy;
  }

  async get(id: string): Promise<Policy> {
    const policy = (await this.deps.policies.get(id)) ?? (await this.deps.policies.findByName(id));
    if (!policy) throw new NotFoundError('policy', id);
    return policy;
  }

  list(): Promise<Policy[]> {
    return this.deps.policies.list();
  }

  async remove(id: string, actor: string): Promise<void> {
    const policy = await this.get(id);
    await this.deps.policies.remove(policy.id);
    await this.deps.events.append([{ type: 'policy.removed', actor, data: { policyId: policy.id, name: policy.name } }]);
  }

  /** The enabled policies an image reference would trigger. Throws for an unparsable reference. */
  async matching(imageRef: string): Promise<Policy[]> {
    try {
      return (await this.list()).filter((p) => p.enabled && imageMatches(p.image, imageRef));
    } catch (error) {
      throw new ValidationError(`invalid image reference: ${(error as Error).message}`, [{ path: 'image', message: (error as Error).message }]);
    }
  }

  /** Records the pushed image as an artifact and starts a rollout for every matching policy. */
  async trigger(push: RegistryPush, actor: string): Promise<TriggerResult[]> {
    const policies = await this.matching(push.imageRef);
    if (policies.length === 0) return [];
    let artifact: Artifact;
    try {
      artifact = await this.imageArtifact(push, actor);
    } catch (error) {
      const message = `cannot record the image artifact: ${(error as Error).message}`;
      await this.deps.events.append(policies.map((p) => ({ type: 'policy.failed', actor, data: { policyId: p.id, name: p.name, image: push.imageRef, error: message } })));
      return policies.map((p) => ({ policyId: p.id, policyName: p.name, rolloutId: null, error: message, existingRolloutId: null }));
    }
    const results: TriggerResult[] = [];
    const key = imageKey(push);
    const none = { rolloutId: null, error: null, existingRolloutId: null };
    for (const policy of policies) {
      const base = { policyId: policy.id, policyName: policy.name };
      const earlier = await this.deps.policies.claimImage(policy.id, key, this.deps.clock.now());
      if (earlier) {
        await this.deps.events.append([{ type: 'policy.repeated', actor, rolloutId: earlier.rolloutId ?? undefined, data: { policyId: policy.id, name: policy.name, image: push.imageRef, imageKey: key, rolloutId: earlier.rolloutId } }]);
        results.push({ ...base, ...none, existingRolloutId: earlier.rolloutId });
        continue;
      }
      try {
        if (!this.deps.createRollout) throw new Error('rollouts are not available on this server');
        const rollout = await this.deps.createRollout({ name: `${policy.name}: ${push.repository}:${push.tag}`, ...policy.template, filter: policy.filter, artifactId: artifact.id }, actor);
        await this.deps.policies.setImageRollout(policy.id, key, rollout.id);
        await this.deps.events.append([{ type: 'policy.triggered', actor, rolloutId: rollout.id, data: { policyId: policy.id, name: policy.name, image: push.imageRef, artifactId: artifact.id } }]);
        results.push({ ...base, ...none, rolloutId: rollout.id });
      } catch (error) {
        const message = (error as Error).message;
        await this.deps.policies.releaseImage(policy.id, key);
        await this.deps.events.append([{ type: 'policy.failed', actor, data: { policyId: policy.id, name: policy.name, image: push.imageRef, artifactId: artifact.id, error: message } }]);
        results.push({ ...base, ...none, error: message });
      }
    }
    return results;
  }

  /** The artifact for a pushed image: name from the repository, version from the tag. */
  private async imageArtifact(push: RegistryPush, actor: string): Promise<Artifact> {
    const name = push.repository.replace(/\//g, '.').slice(0, 128);
    const short = push.digest ? push.digest.slice('sha256:'.length, 'sha256:'.length + 12) : null;
    const version = artifactFieldProblem('version', push.tag) === null ? push.tag : `sha-${short ?? 'unknown'}`;
    const metadata = { source: push.source, pusher: push.pusher };
    try {
      return (await this.deps.artifacts.addImage({ name, version, imageRef: push.imageRef, metadata }, actor)).artifact;
    } catch (error) {
      // The tag was pushed again with new content: keep both, told apart by the digest.
      if (error instanceof ConflictError && short) return (await this.deps.artifacts.addImage({ name, version: `${version.slice(0, 50)}-${short}`, imageRef: push.imageRef, metadata }, actor)).artifact;
      throw error;
    }
  }
}
