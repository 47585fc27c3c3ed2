// `orchestrator simulate` finds its server like every other command: --server, else
// ORCHESTRATOR_URL, else http://127.0.0.1:8080. Nothing answers on the ports used here except
// possibly 8080, where a bogus token is refused either way: the error names the URL it tried.
import { describe, expect, it } from 'vitest';
import { runCli } from '../../testing/cli.js';

describe('orchestrator simulate', () => {
  it('defaults to ORCHESTRATOR_URL, then http://127.0.0.1:8080', { timeout: 60_000 }, async () => {
    const fromEnv = await runCli(['simulate', '--devices', '1', '--token', 'uo_op_bogus'], { ORCHESTRATOR_URL: 'http://127.0.0.1:9/' });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toMatch(/could not enroll the fleet at http:\/\/127\.0\.0\.1:9:/);
    const byDefault = await runCli(['simulate', '--devices', '1', '--token', 'uo_op_bogus'], { ORCHESTRATOR_URL: '' });
    expect(byDefault.code).toBe(1);
    expect(byDefault.stderr).toMatch(/could not enroll the fleet at http:\/\/127\.0\.0\.1:8080:/);
    expect(byDefault.stderr).not.toMatch(/--server URL is required/);
    const help = await runCli(['simulate', '--help']);
    expect(help.stdout).toMatch(/default\s+http:\/\/127\.0\.0\.1:8080/);
  });
});
