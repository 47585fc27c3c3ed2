// `orchestrator policies`: registry webhook policies (an image glob, a device filter and a rollout
// template) and `policies test IMAGE` to see which policies a push would trigger.
import type { Command } from 'commander';
import { DEFAULT_STRATEGY, PHASED_STRATEGIES, strategyList } from '../../core/strategy.js';
import { ApiClient, CliError } from '../client.js';
import { printJson, printTable } from '../output.js';
import { remoteOptions } from './devices.js';

interface Remote {
  server?: string;
  token?: string;
  json?: boolean;
}

interface PolicyView {
  id: string;
  name: string;
  image: string;
  filter: Record<string, unknown>;
  template: Record<string, unknown>;
  enabled: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function jsonObject(flag: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new CliError(`${flag} must be a JSON object, e.g. '${JSON.stringify({ strategy: PHASED_STRATEGIES[0] })}'`, 2);
}

/** "5,50,100" -> progressive phases by percent. */
export function parsePhases(text: string): { percent: number }[] {
  const phases = text.split(',').map((p) => Number(p.trim().replace(/%$/, '')));
  if (phases.some((p) => !Number.isFinite(p) || p <= 0 || p > 100)) throw new CliError(`--phases must be comma-separated percents such as 5,50,100 (got '${text}')`, 2);
  return phases.map((percent) => ({ percent }));
}

const COLUMNS = [{ key: 'id' }, { key: 'name' }, { key: 'image' }, { key: 'enabled' }, { key: 'filter', width: 40 }, { key: 'strategy' }];
const row = (p: PolicyView) => ({ ...p, filter: JSON.stringify(p.filter), strategy: p.template.strategy ?? DEFAULT_STRATEGY });

export function registerPolicies(program: Command): void {
  const policies = program.command('policies').description('registry webhook policies: create, list, rm, test');

  remoteOptions(policies.command('create'))
    .description('create a policy: pushes of images matching --image start a rollout over the devices matching the filter')
    .requiredOption('--name <name>', 'a unique name')
    .requiredOption('--image <glob>', 'glob over the image, e.g. "ghcr.io/acme/app:v*" (":" also matches the tag); without a registry host ("acme/*") it matches Docker Hub images only, "*/acme/*" any registry')
    .option('--location <location>', 'devices at this location')
    .option('--status <status>', 'devices with this status')
    .option('--tag <key=value>', 'devices with this tag (key=value or key:value), repeatable', collect)
    .option('--filter <json>', 'the whole device filter as JSON (the device list keys)')
    .option('--strategy <strategy>', strategyList())
    .option('--phases <percents>', `${PHASED_STRATEGIES[0]} phases, e.g. 5,50,100`)
    .option('--template <json>', 'rollout fields as JSON (strategy, phases, errorThreshold, window, maxConcurrency, ...)')
    .option('--disabled', 'create it switched off')
    .action(async (o: Remote & { name: string; image: string; location?: string; status?: string; tag?: string[]; filter?: string; strategy?: string; phases?: string; template?: string; disabled?: boolean }) => {
      const filter = { ...(jsonObject('--filter', o.filter) ?? {}), ...(o.location ? { location: o.location } : {}), ...(o.status ? { status: o.status } : {}), ...(o.tag ? { tag: o.tag } : {}) };
      const template = { ...(jsonObject('--template', o.template) ?? {}), ...(o.strategy ? { strategy: o.strategy } : {}), ...(o.phases ? { phases: parsePhases(o.phases) } : {}) };
      if (o.phases && !template.strategy) template.strategy = PHASED_STRATEGIES[0];
      const policy = await new ApiClient(o).request<PolicyView>('POST', '/api/v1/policies', { body: { name: o.name, image: o.image, filter, template, enabled: !o.disabled } });
      if (o.json) printJson(policy);
      else printTable([row(policy)], COLUMNS);
    });

  remoteOptions(policies.command('list'))
    .description('list policies')
    .action(async (o: Remote) => {
      const { items } = await new ApiClient(o).request<{ items: PolicyView[] }>('GET', '/api/v1/policies');
      if (o.json) printJson({ items });
      else printTable(items.map(row), COLUMNS);
    });

  remoteOptions(policies.command('rm <idOrName>'))
    .description('remove a policy')
    .action(async (id: string, o: Remote) => {
      await new ApiClient(o).request('DELETE', `/api/v1/policies/${encodeURIComponent(id)}`);
      if (o.json) printJson({ removed: id });
      else process.stdout.write(`removed ${id}\n`);
    });

  remoteOptions(policies.command('test <image>'))
    .description('which enabled policies a push of IMAGE (registry/repo:tag) would trigger')
    .action(async (image: string, o: Remote) => {
      const result = await new ApiClient(o).request<{ image: string; matches: PolicyView[] }>('POST', '/api/v1/policies/test', { body: { image } });
      if (o.json) printJson(result);
      else if (result.matches.length === 0) process.stdout.write(`no policy matches ${image}\n`);
      else printTable(result.matches.map(row), COLUMNS);
    });
}
