// The `container` handler: image updates through a configurable command template (docker, podman,
// balena-engine...). {image} is the new image reference, {name} the container name. Rollback runs
// the same template with the previous image.
import { fillTemplate, runCommand } from '../command.js';
import type { AgentLog } from '../log.js';
import type { InstalledRelease } from '../state.js';
import { InstallError, type InstallContext, type InstallHandler } from './handler.js';

export const DEFAULT_CONTAINER_COMMAND = 'docker pull {image} && (docker rm -f {name} >/dev/null 2>&1 || true) && docker run -d --restart unless-stopped --name {name} {image}';

export interface ContainerHandlerOptions {
  /** Command template; default pulls with docker and re-creates the container. */
  command?: string;
  allowServerCommands: boolean;
  timeoutSeconds?: number;
}

export class ContainerHandler implements InstallHandler {
  constructor(private readonly options: ContainerHandlerOptions) {}

  private template(settings: Record<string, unknown>): string {
    if (this.options.command) return this.options.command;
    if (typeof settings.command === 'string' && settings.command) {
      if (!this.options.allowServerCommands) throw new InstallError('the artifact brings its own container command; this agent runs server-provided commands only with --allow-server-commands');
      return settings.command;
    }
    return DEFAULT_CONTAINER_COMMAND;
  }

  private async run(template: string, image: string, name: string, version: string): Promise<void> {
    const timeoutSeconds = this.options.timeoutSeconds ?? 600;
    const result = await runCommand(fillTemplate(template, { image, name, version }), { timeoutMs: timeoutSeconds * 1000 });
    if (result.timedOut) throw new InstallError(`container command timed out after ${timeoutSeconds}s`);
    if (result.code !== 0) throw new InstallError(`container command exited with ${result.code}${result.output ? `: ${result.output.slice(-500)}` : ''}`);
  }

  async install(ctx: InstallContext): Promise<InstalledRelease> {
    const { update } = ctx;
    if (!update.imageRef) throw new InstallError('the container handler needs an image reference');
    const settings = update.install.settings;
    const name = typeof settings.container === 'string' ? settings.container : update.name;
    await this.run(this.template(settings), update.imageRef, name, update.version);
    return { name: update.name, version: update.version, sha256: update.sha256, handler: 'container', slot: null, file: null, imageRef: update.imageRef, executionId: update.executionId };
  }

  async rollback(to: InstalledRelease | null, from: InstalledRelease, log: AgentLog): Promise<void> {
    if (!to?.imageRef) {
      log.warn('no previous image to roll back to', { name: from.name });
      return;
    }
    await this.run(this.options.command ?? DEFAULT_CONTAINER_COMMAND, to.imageRef, to.name, to.version);
  }
}
