// The `script` handler: places the file in a free slot like `file`, then runs an install command
// with the file's path; exit code 0 means installed (and DIR/current switches), anything else or
// a timeout means failed. The command comes from the agent's configuration, or from the
// artifact's settings only when the agent allows server-provided commands.
import path from 'node:path';
import { fillTemplate, runCommand } from '../command.js';
import type { AgentLog } from '../log.js';
import type { InstalledRelease } from '../state.js';
import { FileHandler } from './file.handler.js';
import { InstallError, type InstallContext, type InstallHandler } from './handler.js';

export interface ScriptHandlerOptions {
  dir: string;
  /** Install command; {file}, {name}, {version} are replaced (the file path is also in $ARTIFACT_FILE). */
  command?: string;
  rollbackCommand?: string;
  /** Accept `command`/`rollbackCommand` from the artifact's install settings. */
  allowServerCommands: boolean;
  defaultTimeoutSeconds?: number;
}

export class ScriptHandler implements InstallHandler {
  private readonly files: FileHandler;

  constructor(private readonly options: ScriptHandlerOptions) {
    this.files = new FileHandler(options.dir);
  }

  private commandFor(kind: 'command' | 'rollbackCommand', settings: Record<string, unknown>): string | undefined {
    const configured = kind === 'command' ? this.options.command : this.options.rollbackCommand;
    if (configured) return configured;
    const fromServer = settings[kind];
    if (typeof fromServer === 'string' && fromServer) {
      if (!this.options.allowServerCommands) throw new InstallError(`the artifact asks to run a ${kind}; this agent runs server-provided commands only with --allow-server-commands`);
      return fromServer;
    }
    return undefined;
  }

  async install(ctx: InstallContext): Promise<InstalledRelease> {
    const settings = ctx.update.install.settings;
    const command = this.commandFor('command', settings);
    if (!command) throw new InstallError('the script handler needs a command: agent --script-command, or install.settings.command with --allow-server-commands');
    const release = await this.files.place(ctx);
    const file = path.join(this.options.dir, release.file!);
    const timeoutSeconds = typeof settings.timeoutSeconds === 'number' ? settings.timeoutSeconds : (this.options.defaultTimeoutSeconds ?? 300);
    const values = { file, name: ctx.update.name, version: ctx.update.version };
    const full = command.includes('{file}') ? fillTemplate(command, values) : `${fillTemplate(command, values)} "$ARTIFACT_FILE"`;
    ctx.log.info('running install script', { version: ctx.update.version, timeoutSeconds });
    const result = await runCommand(full, { timeoutMs: timeoutSeconds * 1000, cwd: this.options.dir, env: { ARTIFACT_FILE: file, ARTIFACT_NAME: ctx.update.name, ARTIFACT_VERSION: ctx.update.version } });
    if (result.timedOut) throw new InstallError(`install script timed out after ${timeoutSeconds}s`);
    if (result.code !== 0) throw new InstallError(`install script exited with ${result.code}${result.output ? `: ${result.output.slice(-500)}` : ''}`);
    await this.files.activate(release);
    return { ...release, handler: 'script' };
  }

  async rollback(to: InstalledRelease | null, _from: InstalledRelease, log: AgentLog): Promise<void> {
    await this.files.rollback(to);
    const command = this.options.rollbackCommand;
    if (command && to?.file) {
      const file = path.join(this.options.dir, to.file);
      const result = await runCommand(fillTemplate(command, { file, name: to.name, version: to.version }), { timeoutMs: 300_000, cwd: this.options.dir, env: { ARTIFACT_FILE: file } });
      if (result.code !== 0) log.warn('rollback script failed', { code: result.code, output: result.output.slice(-300) });
    }
  }
}
