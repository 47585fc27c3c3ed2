// What the CLI says about a flag it does not know. Commander's own guess takes any option within
// 60% similarity, so `devices list --region west` offered `--version`; here a guess must be a
// near typo (one or two edits), and on commands that filter devices an unknown `--KEY VALUE` is
// read as the tag filter it most likely meant: `--tag KEY=VALUE`.
import { Command } from 'commander';

/** Edits (insert, delete, substitute, swap neighbours) between two words. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The flags within a typo of `word` (both without "--"): one edit for short words, two from 7 letters. */
export function nearTypos(word: string, candidates: string[]): string[] {
  const allowed = word.length >= 7 ? 2 : 1;
  let best = allowed + 1;
  let found: string[] = [];
  for (const candidate of new Set(candidates)) {
    if (candidate.length <= 1) continue;
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance > allowed || distance > best) continue;
    if (distance < best) found = [];
    best = distance;
    found.push(candidate);
  }
  return found.sort();
}

/**
 * The hint after "unknown option '--flag'": a near typo of one of the command's flags, else on a
 * command with `--tag` the tag filter `--tag KEY=VALUE` (with the value that followed the flag).
 */
export function unknownOptionHint(flag: string, o: { flags: string[]; hasTag: boolean; next?: string }): string {
  if (!flag.startsWith('--')) return '';
  const [word, inline] = flag.slice(2).split(/=(.*)/s) as [string, string | undefined];
  const names = o.flags.map((f) => f.replace(/^--/, ''));
  // A filter this command spells longer: `rollouts create --version` means --device-version.
  const longer = names.filter((n) => n.endsWith(`-${word}`) || n.startsWith(`${word}-`));
  const typos = longer.length ? longer : nearTypos(word, names);
  if (typos.length === 1) return `\n(Did you mean --${typos[0]}?)`;
  if (typos.length > 1) return `\n(Did you mean one of ${typos.map((t) => `--${t}`).join(', ')}?)`;
  if (!o.hasTag || !/^[A-Za-z0-9][\w./-]{0,63}$/.test(word)) return '';
  const value = inline ?? (o.next !== undefined && !o.next.startsWith('-') ? o.next : 'VALUE');
  const quoted = /^[\w./:=@+-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
  return `\n(Is '${word}' a device tag? Filter by it with --tag ${word}=${quoted}. Filters: ${o.flags.filter((f) => FILTER_FLAGS.includes(f)).join(', ')})`;
}

const FILTER_FLAGS = ['--status', '--mode', '--location', '--version', '--device-version', '--tag', '--q', '--ids', '--last-seen-before', '--last-seen-after'];

/** The program's command class: sub-commands inherit it, so every command answers unknown flags this way. */
export class OrchestratorCommand extends Command {
  override createCommand(name?: string): Command {
    return new OrchestratorCommand(name);
  }

  /** Replaces commander's unknownOption (same contract: reports and exits through this.error). */
  unknownOption(flag: string): void {
    const flags = this.createHelp()
      .visibleOptions(this)
      .map((option) => option.long)
      .filter((long): long is string => !!long);
    let root: Command | null = this.parent;
    while (root?.parent) root = root.parent;
    const argv = ((root ?? {}) as { rawArgs?: string[] }).rawArgs ?? [];
    const at = argv.indexOf(flag);
    const hint = unknownOptionHint(flag, { flags, hasTag: flags.includes('--tag'), next: at >= 0 ? argv[at + 1] : undefined });
    this.error(`error: unknown option '${flag}'${hint}`, { code: 'commander.unknownOption' });
  }
}
