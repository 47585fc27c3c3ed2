// `orchestrator demo`: the POS demo of seed 002 on a temporary server (see src/demo/). Keeps the
// dashboard up until Ctrl-C unless --no-wait; exits non-zero when a scenario missed its outcome.
import net from 'node:net';
import type { Command } from 'commander';
import { runDemo } from '../../demo/demo.js';

/** The preferred port when it is free, otherwise any free one. */
function freePort(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(0));
    probe.listen(preferred, '127.0.0.1', () => probe.close(() => resolve(preferred)));
  });
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the POS demo: a temporary server, a simulated fleet of store terminals, and six rollout scenarios')
    .option('--devices <n>', 'terminals in the fleet', (v) => Number.parseInt(v, 10), 200)
    .option('-p, --port <port>', 'port of the demo server (default 8080, or any free port when taken)', (v) => Number.parseInt(v, 10))
    .option('--no-wait', 'exit after the scenarios instead of keeping the dashboard up')
    .action(async (options: { devices: number; port?: number; wait: boolean }) => {
      if (!Number.isInteger(options.devices) || options.devices < 10 || options.devices > 20_000) throw new Error('--devices must be a number from 10 to 20000');
      if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) throw new Error('--port must be a number from 0 to 65535');
      const port = options.port ?? (await freePort(8080));
      const run = await runDemo({ devices: options.devices, port, out: (text) => process.stdout.write(text + '\n') });
      if (!options.wait) {
        await run.close();
        process.exit(run.ok ? 0 : 1);
      }
      process.stdout.write(`\nDashboard: ${run.url}/  (sign in with the token below; the server stays up until Ctrl-C)\n  token: ${run.token}\n`);
      const stop = () => void run.close().finally(() => process.exit(run.ok ? 0 : 1));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
