// Attack surface an operator opened without noticing: every insecure opt-in in force is warned
// about when the real server starts (a JSON log line with the setting's name, and a line of the
// start banner), and a server with none opened warns about nothing.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { insecureSettings } from '../config-warnings.js';
import { startServe } from '../testing/serve-process.js';

const OPT_INS: Record<string, string> = {
  ORCHESTRATOR_SSH_TOFU: '1',
  ORCHESTRATOR_TRUSTED_PROXIES: '10.0.0.0/8,0.0.0.0/0',
  ORCHESTRATOR_OUTBOUND_DENY: 'none',
  ORCHESTRATOR_AUTH_RATE_LIMIT: '0',
  ORCHESTRATOR_DEVICE_AUTH_RATE_LIMIT: '0',
  ORCHESTRATOR_WEBHOOK_RATE_LIMIT: '0',
  ORCHESTRATOR_WEBHOOK_SECRET: 'short',
};

describe('start-up warnings', () => {
  it('warns about every insecure opt-in in force, by setting', async () => {
    const server = await startServe([], OPT_INS);
    try {
      const expected = [...Object.keys(OPT_INS), 'ORCHESTRATOR_REQUIRE_SIGNED'];
      await server.logged(new RegExp(`"setting":"ORCHESTRATOR_WEBHOOK_SECRET"`));
      const warnings = server
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; setting?: string; msg: string })
        .filter((entry) => entry.level === 40 && entry.msg.startsWith('insecure setting:'));
      expect(warnings.map((w) => w.setting).sort()).toEqual(expected.sort());
      expect(warnings.find((w) => w.setting === 'ORCHESTRATOR_OUTBOUND_DENY')!.msg).toMatch(/169\.254\.169\.254/);
      expect(warnings.find((w) => w.setting === 'ORCHESTRATOR_TRUSTED_PROXIES')!.msg).toMatch(/0\.0\.0\.0\/0/);
      for (const setting of expected) expect(server.stdout()).toContain(`  warning: ${setting}: `);
    } finally {
      await server.stop();
    }
  });

  it('warns about nothing when nothing is opened', async () => {
    const server = await startServe([], { ORCHESTRATOR_REQUIRE_SIGNED: '1', ORCHESTRATOR_LOG_LEVEL: 'info' });
    try {
      // Logged right after the warnings, in the same step of the start.
      await server.logged(/registry webhooks are refused until ORCHESTRATOR_WEBHOOK_SECRET is set/);
      expect(server.stdout()).not.toMatch(/insecure setting|warning: /);
    } finally {
      await server.stop();
    }
  });

  it('warns about a non-loopback bind without a proxy in front', () => {
    const warned = (overrides: Parameters<typeof loadConfig>[0]) => insecureSettings(loadConfig({ requireSignedArtifacts: true, ...overrides }, {})).map((w) => w.setting);
    expect(warned({ host: '0.0.0.0' })).toEqual(['ORCHESTRATOR_HOST']);
    expect(warned({ host: '::' })).toEqual(['ORCHESTRATOR_HOST']);
    expect(warned({ host: '127.0.0.1' })).toEqual([]);
    expect(warned({ host: undefined })).toEqual([]);
    expect(warned({ host: '0.0.0.0', trustedProxies: ['10.0.0.5'] })).toEqual([]);
  });
});
