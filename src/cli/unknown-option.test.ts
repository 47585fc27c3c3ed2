// Unknown flags: near typos are suggested, far ones are not (`--region` is no `--version`), and on
// commands that filter devices an unknown `--KEY VALUE` points at `--tag KEY=VALUE`. The built CLI
// answers them the same way (exit code 1, the hint on stderr).
import { describe, expect, it } from 'vitest';
import { runCli } from '../testing/cli.js';
import { editDistance, nearTypos, unknownOptionHint } from './unknown-option.js';

const LIST_FLAGS = ['--server', '--token', '--json', '--status', '--mode', '--location', '--version', '--tag', '--q', '--last-seen-before', '--last-seen-after', '--limit', '--cursor', '--all'];

describe('unknown option hints', () => {
  it('counts edits, a swap of neighbours as one', () => {
    expect(editDistance('status', 'staus')).toBe(1);
    expect(editDistance('verison', 'version')).toBe(1);
    expect(editDistance('region', 'version')).toBe(3);
  });

  it('suggests only near typos', () => {
    expect(nearTypos('staus', ['status', 'mode'])).toEqual(['status']);
    expect(nearTypos('locaton', ['location', 'limit'])).toEqual(['location']);
    expect(nearTypos('region', ['version', 'location'])).toEqual([]);
    expect(unknownOptionHint('--verison', { flags: LIST_FLAGS, hasTag: true })).toBe('\n(Did you mean --version?)');
  });

  it('reads an unknown --KEY VALUE as a tag filter on commands with --tag', () => {
    const hint = unknownOptionHint('--region', { flags: LIST_FLAGS, hasTag: true, next: 'west' });
    expect(hint).not.toMatch(/--version\?/);
    expect(hint).toMatch(/--tag region=west/);
    expect(hint).toMatch(/Filters: --status, --mode, --location, --version, --tag, --q, --last-seen-before, --last-seen-after/);
    expect(unknownOptionHint('--region=north west', { flags: LIST_FLAGS, hasTag: true })).toMatch(/--tag region='north west'/);
    expect(unknownOptionHint('--region', { flags: LIST_FLAGS, hasTag: true, next: '--json' })).toMatch(/--tag region=VALUE/);
    // No --tag on the command: no tag advice, and no far-fetched guess either.
    expect(unknownOptionHint('--region', { flags: ['--server', '--token', '--role'], hasTag: false })).toBe('');
  });

  it('points a filter the command spells longer at its flag (rollouts create --version)', () => {
    expect(unknownOptionHint('--version', { flags: ['--artifact', '--device-version', '--tag'], hasTag: true, next: '2.0' })).toBe('\n(Did you mean --device-version?)');
  });

  it('is what the built CLI prints', { timeout: 60_000 }, async () => {
    const region = await runCli(['devices', 'list', '--region', 'west'], { ORCHESTRATOR_TOKEN: 'unused' });
    expect(region.code).toBe(1);
    expect(region.stderr).toMatch(/unknown option '--region'/);
    expect(region.stderr).toMatch(/--tag region=west/);
    expect(region.stderr).not.toMatch(/Did you mean --version/);
    const typo = await runCli(['rollouts', 'create', '--artifact', 'a', '--staus', 'online']);
    expect(typo.stderr).toMatch(/Did you mean --status\?/);
    const version = await runCli(['rollouts', 'create', '--artifact', 'a', '--version', '2.0']);
    expect(version.stderr).toMatch(/Did you mean --device-version\?/);
  });
});
