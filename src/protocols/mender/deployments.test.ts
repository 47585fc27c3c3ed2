// Mender deployments: provides, compatibility, the next-deployment body, status and log mapping.
import { describe, expect, it } from 'vitest';
import { artifactFits, deviceProvides, logSummary, menderFailureError, menderMetaOf, nextDeploymentBody, parseLog, parseStatus, statusReport } from './deployments.js';

const meta = { artifactName: 'app-2', deviceTypes: ['pos-a', 'pos-b'], provides: {}, depends: {} };

describe('Mender deployments', () => {
  it('reads provides from a v2 body and a v1 query, requiring device_type', () => {
    expect(deviceProvides({ device_provides: { device_type: 'pos-a', artifact_name: 'app-1', n: 3 }, update_control_map: false })).toEqual({ device_type: 'pos-a', artifact_name: 'app-1' });
    expect(deviceProvides({ device_type: 'pos-a', artifact_name: 'app-1' })).toEqual({ device_type: 'pos-a', artifact_name: 'app-1' });
    expect(() => deviceProvides({ device_provides: { artifact_name: 'x' } })).toThrow(/device_type is required/);
  });

  it('respects device_types_compatible, the installed artifact name and depends', () => {
    expect(artifactFits(meta, { device_type: 'pos-b', artifact_name: 'app-1' })).toEqual({ ok: true });
    expect(artifactFits(meta, { device_type: 'kiosk', artifact_name: 'app-1' })).toMatchObject({ ok: false, alreadyInstalled: false, reason: expect.stringMatching(/not 'kiosk'/) });
    expect(artifactFits(meta, { device_type: 'pos-a', artifact_name: 'app-2' })).toEqual({ ok: false, alreadyInstalled: true });
    const withDepends = { ...meta, depends: { 'rootfs-image.checksum': ['abc'] } };
    expect(artifactFits(withDepends, { device_type: 'pos-a', artifact_name: 'app-1', 'rootfs-image.checksum': 'abc' })).toEqual({ ok: true });
    expect(artifactFits(withDepends, { device_type: 'pos-a', artifact_name: 'app-1' })).toMatchObject({ ok: false, reason: expect.stringMatching(/depends on rootfs-image.checksum/) });
  });

  it('reads artifact metadata and writes the next-deployment body', () => {
    expect(menderMetaOf({ mender: meta })).toEqual(meta);
    expect(menderMetaOf({})).toBeNull();
    expect(nextDeploymentBody({ deploymentId: 'e1', artifactId: 'a1', meta, uri: 'http://h/x', expiresAt: '2026-01-01T00:00:00.000Z' })).toEqual({
      id: 'e1',
      artifact: { id: 'a1', artifact_name: 'app-2', source: { uri: 'http://h/x', expire: '2026-01-01T00:00:00.000Z' }, device_types_compatible: ['pos-a', 'pos-b'] },
    });
  });

  it('maps statuses onto execution states', () => {
    const map = (s: string) => statusReport(parseStatus({ status: s }).status, 'e1', null)?.state ?? null;
    expect(['downloading', 'installing', 'rebooting', 'success', 'already-installed', 'failure', 'pause_before_installing'].map(map)).toEqual([
      'downloading',
      'installing',
      'verifying',
      'succeeded',
      'succeeded',
      'failed',
      null,
    ]);
    expect(() => parseStatus({ status: 'done' })).toThrow(/status must be one of/);
  });

  it('keeps the log as lines, bounded to its last 64 KiB, each line storable', () => {
    const messages = Array.from({ length: 2000 }, (_, i) => ({ timestamp: `t${i}`, level: 'error', message: 'x'.repeat(50) }));
    const lines = parseLog({ messages });
    expect(lines.at(-1)).toBe(`t1999 error ${'x'.repeat(50)}`);
    expect(lines[0]).toMatch(/earlier lines not kept/);
    expect(Buffer.byteLength(lines.join('\n'))).toBeLessThanOrEqual(64 * 1024);
    expect(parseLog({ messages: [{ timestamp: 't', level: 'info', message: 'a\u0000\u001b[31mb' }, null, { message: { nested: true } }] })).toEqual(['t info a\uFFFD\uFFFD[31mb', '', '']);
    expect(() => parseLog({})).toThrow(/messages must be an array/);
  });

  it('says why a deployment failed once its log is there', () => {
    const log = parseLog({ messages: [{ timestamp: '2026-12-02T04:47:58Z', level: 'info', message: 'Output (stderr) from command "script": disk full: cannot install' }, { timestamp: '2026-12-02T04:47:58Z', level: 'error', message: 'Update module terminated abnormally: exit status 3' }] });
    expect(menderFailureError('ArtifactInstall', logSummary(log))).toBe('the device reported failure (ArtifactInstall): info Output (stderr) from command "script": disk full: cannot install | error Update module terminated abnormally: exit status 3');
    expect(statusReport('failure', 'e1', null)).toMatchObject({ error: 'the device reported failure; its deployment log follows' });
  });
});
