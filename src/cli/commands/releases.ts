// `orchestrator releases`: create (upload files and assemble them in one command, a progress bar
// per file), list, get and rm, through the API. A release's artifacts go in the order given; each
// match defaults to what its artifact declares, and --component / --match override it.
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { Release } from '../../core/index.js';
import { ApiClient, CliError } from '../client.js';
import { printJson, printTable } from '../output.js';
import { chunkAvgOption, describeUpload, fileSize, uploadArtifactFile, type Remote } from './artifacts.js';
import { remoteOptions } from './devices.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

const ID_PREFIX = 'id:';

/** One artifact of the release being made: a file to upload, or an artifact already uploaded. */
interface Part {
  /** The argument as given (a file path, or id:ARTIFACT). */
  arg: string;
  file: string | null;
  artifactId: string | null;
  component?: string;
  match: { protocol?: string[] | null; deviceType?: string | null };
}

/** The artifact name a file is uploaded under: the release name and the file's name. */
export function artifactNameFor(release: string, file: string): string {
  return `${release}-${path.basename(file)}`.replace(/[^A-Za-z0-9._+-]/g, '_').slice(0, 128);
}

/** The part a --component or --match reference names: its argument, its file's base name, or its artifact id. */
function partOf(parts: Part[], ref: string, flag: string): Part {
  const found = parts.filter((p) => p.arg === ref || (p.file !== null && path.basename(p.file) === ref) || p.artifactId === ref || `${ID_PREFIX}${p.artifactId}` === ref);
  if (found.length === 0) throw new CliError(`${flag} '${ref}': no such file or artifact among the arguments (${parts.map((p) => p.arg).join(', ')})`, 2);
  if (found.length > 1) throw new CliError(`${flag} '${ref}' names several arguments; use the path as given`, 2);
  return found[0]!;
}

const splitRef = (text: string, flag: string): [string, string] => {
  const at = text.lastIndexOf('=');
  if (at <= 0 || at === text.length - 1) throw new CliError(`${flag} must be REF=VALUE (got '${text}')`, 2);
  return [text.slice(0, at), text.slice(at + 1)];
};

/** Parses the arguments and overrides into the parts of a release, in order. */
export function releaseParts(args: string[], o: { component?: string[]; match?: string[] }): Part[] {
  if (args.length === 0) throw new CliError('name at least one file to upload, or id:ARTIFACT for one already uploaded', 2);
  const parts: Part[] = args.map((arg) => (arg.startsWith(ID_PREFIX) ? { arg, file: null, artifactId: arg.slice(ID_PREFIX.length), match: {} } : { arg, file: arg, artifactId: null, match: {} }));
  for (const text of o.component ?? []) {
    const [ref, component] = splitRef(text, '--component');
    partOf(parts, ref, '--component').component = component;
  }
  for (const text of o.match ?? []) {
    // REF=protocol:agent,http or REF=deviceType:rpi* ("any" clears the field). The glob may hold "=".
    const eq = text.indexOf('=');
    if (eq <= 0) throw new CliError(`--match must be REF=protocol:LIST or REF=deviceType:GLOB (got '${text}')`, 2);
    const ref = text.slice(0, eq);
    const rule = text.slice(eq + 1);
    const colon = rule.indexOf(':');
    const key = colon > 0 ? rule.slice(0, colon) : '';
    const value = rule.slice(colon + 1);
    const part = partOf(parts, ref, '--match');
    if (key === 'protocol') part.match.protocol = value === 'any' ? null : value.split(',').map((p) => p.trim());
    else if (key === 'deviceType') part.match.deviceType = value === 'any' ? null : value;
    else throw new CliError(`--match '${text}': the key must be protocol or deviceType`, 2);
  }
  return parts;
}

const matchText = (match: Release['artifacts'][number]['match']) => `${match.protocol ? match.protocol.join(',') : 'any protocol'} / ${match.deviceType ?? 'any type'}`;

function printRelease(release: Release): void {
  process.stdout.write(`release ${release.name} ${release.version}: id ${release.id}, created ${release.createdAt} by ${release.createdBy}\n`);
  printTable(
    release.artifacts.map((a) => ({ position: a.position + 1, component: a.component, artifactId: a.artifactId, match: matchText(a.match) })),
    [{ key: 'position', header: '#' }, { key: 'component' }, { key: 'artifactId', header: 'ARTIFACT' }, { key: 'match', header: 'MATCH (PROTOCOL / DEVICE TYPE)', width: 60 }],
  );
}

const HELP = `
Arguments are files to upload (each as artifact "<name>-<file name>", version --version) or
id:ARTIFACT for an artifact already uploaded, in the order the release lists them: for each
component, a device gets the first artifact whose match fits it.

Matches default to what each artifact declares: a .mender is for Mender devices of its
device_types_compatible, a .swu for hawkBit (SWUpdate) devices of its hardware compatibility,
anything else for agents and HTTP/SSH push on any device type. Override per argument (REF is the
argument as given, its file name, or the artifact id):
  --component REF=os                 the component it belongs to (default main)
  --match REF=protocol:http,ssh      the protocols it is for (agent, hawkbit, mender, http, ssh; any)
  --match REF=deviceType:rpi*        a glob over the device type ({rpi3,rpi4}; any)

Example:
  orchestrator releases create --name pos --version 2.4.1 a.swu b.mender c.bin --match c.bin=protocol:http
`;

export function registerReleases(program: Command): void {
  const releases = program.command('releases').description('releases: several artifacts per component and device match, rolled out as one (create, list, get, rm)');

  remoteOptions(releases.command('create <files...>'))
    .description('upload files (a progress bar each) and assemble them into a release')
    .requiredOption('--name <name>', 'release name, e.g. pos')
    .requiredOption('--version <version>', 'release version, e.g. 2.4.1 (also the version of each uploaded artifact)')
    .option('--component <ref=component>', 'the component of an argument, repeatable', collect)
    .option('--match <ref=key:value>', 'override an argument\'s match: protocol:LIST or deviceType:GLOB ("any" for any), repeatable', collect)
    .option('--sign <keyfile>', 'sign every uploaded file with this private key (PREFIX.key from keys generate)')
    .option('--chunk-avg <size>', 'average chunk size of the delta index of each upload (see artifacts upload)', chunkAvgOption)
    .option('--no-progress', 'no progress bars')
    .addHelpText('after', HELP)
    .action(async (files: string[], o: Remote & { name: string; version: string; component?: string[]; match?: string[]; sign?: string; chunkAvg?: number; progress: boolean }) => {
      const parts = releaseParts(files, o);
      for (const part of parts) if (part.file) fileSize(part.file);
      const uploads = parts.filter((p) => p.file !== null);
      const bars = o.progress && !o.json && process.stderr.isTTY && uploads.length > 0 ? new cliProgress.MultiBar({ format: '{file} [{bar}] {percentage}% {value}/{total} bytes', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : null;
      try {
        // One file at a time (one bar moving at a time), each bar kept to show what was sent.
        const pending = uploads.map((part) => ({ part, bar: bars?.create(fileSize(part.file!), 0, { file: path.basename(part.file!).padEnd(24).slice(0, 24) }) }));
        for (const { part, bar } of pending) {
          const artifact = await uploadArtifactFile(o, part.file!, { name: artifactNameFor(o.name, part.file!), version: o.version, sign: o.sign, chunkAvg: o.chunkAvg }, (sent) => bar?.update(sent));
          bar?.update(artifact.size);
          part.artifactId = artifact.id;
          if (!o.json && !bars) process.stdout.write(`${describeUpload(artifact)}\n`);
        }
      } finally {
        bars?.stop();
      }
      const body = {
        name: o.name,
        version: o.version,
        artifacts: parts.map((p) => JSON.parse(JSON.stringify({ artifactId: p.artifactId, component: p.component, match: Object.keys(p.match).length ? p.match : undefined })) as Record<string, unknown>),
      };
      const release = await new ApiClient(o).request<Release>('POST', '/api/v1/releases', { body });
      if (o.json) printJson(release);
      else printRelease(release);
    });

  remoteOptions(releases.command('list'))
    .description('list releases, newest first')
    .option('--name <name>', 'only this name')
    .option('--limit <n>', 'page size (1-1000)', (v) => Number.parseInt(v, 10), 100)
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (o: Remote & { name?: string; limit: number; cursor?: string }) => {
      const page = await new ApiClient(o).request<{ items: Release[]; nextCursor: string | null; total: number }>('GET', '/api/v1/releases', { query: { name: o.name, limit: o.limit, cursor: o.cursor } });
      if (o.json) return printJson(page);
      printTable(
        page.items.map((r) => ({ id: r.id, name: r.name, version: r.version, components: [...new Set(r.artifacts.map((a) => a.component))].join(','), artifacts: r.artifacts.length, createdAt: r.createdAt })),
        [{ key: 'id' }, { key: 'name', width: 24 }, { key: 'version' }, { key: 'components', width: 24 }, { key: 'artifacts' }, { key: 'createdAt', header: 'CREATED' }],
      );
      process.stdout.write(`\n${page.items.length} shown of ${page.total}${page.nextCursor ? `; next page: --cursor ${page.nextCursor}` : ''}\n`);
    });

  remoteOptions(releases.command('get <id>'))
    .description('show one release: its artifacts in order, their components and matches')
    .action(async (id: string, o: Remote) => {
      const release = await new ApiClient(o).request<Release>('GET', `/api/v1/releases/${encodeURIComponent(id)}`);
      if (o.json) printJson(release);
      else printRelease(release);
    });

  remoteOptions(releases.command('rm <id>'))
    .description('delete a release (refused while a rollout that has not finished uses it); its artifacts stay')
    .action(async (id: string, o: Remote) => {
      await new ApiClient(o).request('DELETE', `/api/v1/releases/${encodeURIComponent(id)}`);
      if (o.json) printJson({ removed: id });
      else process.stdout.write(`removed ${id}\n`);
    });
}
