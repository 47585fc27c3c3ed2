// Health checks after an install: `http` (status of a URL), `tcp` (a port accepts connections),
// `command` (exit code 0). All must pass before the deadline; they are retried until then.
import net from 'node:net';
import type { HealthCheck, TargetUpdate } from '../core/index.js';
import { runCommand } from './command.js';

/** Answers null when healthy, else why not. */
export interface HealthRunner {
  check(update: TargetUpdate): Promise<string | null>;
}

async function once(check: HealthCheck, allowCommands: boolean): Promise<string | null> {
  const timeoutMs = (check.timeoutSeconds ?? 5) * 1000;
  if (check.type === 'http') {
    try {
      const response = await fetch(check.target, { signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      const expected = check.expectStatus ?? 200;
      return response.status === expected ? null : `http ${check.target} answered ${response.status}, expected ${expected}`;
    } catch (error) {
      return `http ${check.target} failed: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`;
    }
  }
  if (check.type === 'tcp') {
    const match = /^(.*):(\d+)$/.exec(check.target);
    if (!match) return `tcp target '${check.target}' must be host:port`;
    return new Promise((resolve) => {
      const socket = net.connect({ host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) });
      const done = (result: string | null) => {
        socket.destroy();
        resolve(result);
      };
      socket.setTimeout(timeoutMs, () => done(`tcp ${check.target} timed out`));
      socket.once('connect', () => done(null));
      socket.once('error', (error) => done(`tcp ${check.target} failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    });
  }
  if (check.type === 'command') {
    if (!allowCommands) return 'command health checks from the server need --allow-server-commands';
    const result = await runCommand(check.target, { timeoutMs });
    return result.code === 0 ? null : `command exited with ${result.timedOut ? 'a timeout' : result.code}${result.output ? `: ${result.output.slice(-200)}` : ''}`;
  }
  return `unknown health check type '${(check as { type: string }).type}'`;
}

export class HealthChecker implements HealthRunner {
  constructor(
    private readonly options: { allowServerCommands: boolean; defaultDeadlineSeconds?: number; retryEveryMs?: number; sleep?: (ms: number) => Promise<void>; now?: () => number } = { allowServerCommands: false },
  ) {}

  async check(update: TargetUpdate): Promise<string | null> {
    if (update.healthChecks.length === 0) return null;
    const now = this.options.now ?? Date.now;
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const deadline = now() + (update.healthDeadlineSeconds ?? this.options.defaultDeadlineSeconds ?? 60) * 1000;
    for (;;) {
      const problems = (await Promise.all(update.healthChecks.map((c) => once(c, this.options.allowServerCommands)))).filter((p): p is string => p !== null);
      if (problems.length === 0) return null;
      if (now() >= deadline) return `health checks failed: ${problems.join('; ')}`;
      await sleep(Math.min(this.options.retryEveryMs ?? 1000, Math.max(0, deadline - now())));
    }
  }
}
