// Runs a shell command with a timeout and answers its exit code and the tail of its output
// (install scripts, container command templates, command health checks).
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  timedOut: boolean;
  /** Last few KiB of stdout+stderr, for error messages. */
  output: string;
}

export function runCommand(command: string, options: { env?: Record<string, string>; timeoutMs: number; cwd?: string; signal?: AbortSignal }): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { env: { ...process.env, ...options.env }, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4096);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    options.signal?.addEventListener('abort', kill, { once: true });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, timedOut, output: error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', kill);
      resolve({ code, timedOut, output: output.trim() });
    });
  });
}

/** Replaces {name} placeholders with shell-quoted values. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? shellQuote(values[key]!) : whole));
}

export const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
