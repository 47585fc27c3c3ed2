// Reads registry webhook payloads (Docker Hub push, GitHub Container Registry `package` event)
// into one shape: the pushed image reference and who sent it. Pure; no I/O.
import { ValidationError } from '../core/index.js';

export type RegistrySource = 'dockerhub' | 'ghcr';

/** A push as the orchestrator understands it. */
export interface RegistryPush {
  source: RegistrySource;
  /** `registry/repo:tag[@sha256:...]`. */
  imageRef: string;
  repository: string;
  tag: string;
  digest: string | null;
  pusher: string | null;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A Docker Hub namespace (letters and digits, with - or _ inside) and a repository name. */
const DOCKER_HUB_REPOSITORY = /^(?:[a-z0-9]+(?:[_-][a-z0-9]+)*\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

function invalid(source: string, what: string): ValidationError {
  return new ValidationError(`not a ${source} push payload: ${what}`, [{ path: 'body', message: what }]);
}

/** Docker Hub: {"push_data": {"tag", "pusher"}, "repository": {"repo_name": "ns/name"}}. */
export function parseDockerHub(body: Obj): RegistryPush {
  const push = obj(body.push_data);
  const repo = obj(body.repository);
  const repository = str(repo?.repo_name) ?? (str(repo?.namespace) && str(repo?.name) ? `${str(repo?.namespace)}/${str(repo?.name)}` : undefined);
  const tag = str(push?.tag);
  if (!repository) throw invalid('Docker Hub', 'repository.repo_name is missing');
  if (!tag) throw invalid('Docker Hub', 'push_data.tag is missing');
  // Docker Hub names are "name" or "namespace/name"; a first part that looks like a host would
  // let a payload pose as another registry's image (evil.example.com/acme/app).
  if (!DOCKER_HUB_REPOSITORY.test(repository.toLowerCase())) throw invalid('Docker Hub', `repository.repo_name '${repository.slice(0, 200)}' is not a Docker Hub repository (name or namespace/name)`);
  return { source: 'dockerhub', imageRef: `docker.io/${repository.toLowerCase()}:${tag}`, repository: repository.toLowerCase(), tag, digest: null, pusher: str(push?.pusher) ?? null };
}

/** GHCR: the GitHub `package` event for a container package version that was published. */
export function parseGhcr(body: Obj): RegistryPush | null {
  const pkg = obj(body.package) ?? obj(body.registry_package);
  if (!pkg) throw invalid('GHCR', 'package is missing');
  const type = str(pkg.package_type)?.toLowerCase();
  if (type && type !== 'container' && type !== 'docker') return null;
  const version = obj(pkg.package_version);
  const container = obj(version?.container_metadata);
  const tagInfo = obj(container?.tag);
  const owner = str(obj(pkg.owner)?.login) ?? str(pkg.namespace);
  const name = str(pkg.name);
  if (!owner || !name) throw invalid('GHCR', 'package.name and package.owner.login are required');
  const digest = str(tagInfo?.digest) ?? (str(version?.version)?.startsWith('sha256:') ? str(version?.version)! : null);
  const tag = str(tagInfo?.name) ?? str(obj(version?.metadata)?.tag) ?? null;
  if (!tag && !digest) return null; // an untagged manifest without a digest: nothing to roll out
  const repository = `${owner}/${name}`.toLowerCase();
  const digestPart = digest && /^sha256:[0-9a-f]{64}$/.test(digest) ? `@${digest}` : '';
  return { source: 'ghcr', imageRef: `ghcr.io/${repository}${tag ? `:${tag}` : ''}${digestPart}`, repository, tag: tag ?? digest!, digest: digestPart ? digest! : null, pusher: str(obj(body.sender)?.login) ?? null };
}

/** Removes values under secret-looking keys, recursively, so payloads can be logged. */
export function redactPayload(value: unknown, depth = 0): unknown {
  if (depth > 20) return '[too deep]';
  if (Array.isArray(value)) return value.slice(0, 200).map((v) => redactPayload(v, depth + 1));
  const o = obj(value);
  if (!o) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) out[k] = /secret|token|password|authorization|signature|api[_-]?key/i.test(k) ? '[redacted]' : redactPayload(v, depth + 1);
  return out;
}
