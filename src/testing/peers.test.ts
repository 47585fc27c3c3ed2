// The peer gate itself: a missing peer skips with its reason on a developer machine and fails
// under CI=true; the probes say what is missing.
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { commandMissing, MissingPeerError, mqttBrokerMissing, peersRequired, requirePeer } from './peers.js';

describe('requirePeer', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('passes a present peer in and out of CI', () => {
    expect(requirePeer('sshd', null, {})).toBeNull();
    expect(requirePeer('sshd', null, { CI: 'true' })).toBeNull();
  });

  it('skips with the reason printed when CI is not set', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(requirePeer('Mosquitto', 'nothing listens on 1883', { CI: 'false' })).toBe('nothing listens on 1883');
    expect(warn).toHaveBeenCalledWith('SKIPPING tests that need Mosquitto: nothing listens on 1883');
  });

  it('fails under CI=true, naming the peer and the reason', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(() => requirePeer('cpio', 'cpio is not installed', { CI: 'true' })).toThrow(new MissingPeerError('cpio', 'cpio is not installed'));
    expect(() => requirePeer('cpio', 'x', { CI: '1' })).toThrow(/CI=true requires cpio, but x/);
    expect(warn).not.toHaveBeenCalled();
  });

  it('reads CI as CI services set it', () => {
    expect([undefined, '', 'false', 'FALSE', '0'].map((CI) => peersRequired({ CI }))).toEqual([false, false, false, false, false]);
    expect(['true', '1', 'yes'].map((CI) => peersRequired({ CI }))).toEqual([true, true, true]);
  });
});

describe('probes', () => {
  it('tells a missing command from one that fails', () => {
    expect(commandMissing('uo-no-such-command', ['--version'], 'uo-pkg')).toMatch(/uo-no-such-command is not installed \(apt-get install uo-pkg/);
    expect(commandMissing('sh', ['-c', 'exit 3'], 'dash')).toBe('sh -c exit 3 exited with 3');
    expect(commandMissing('sh', ['-c', 'exit 0'], 'dash')).toBeNull();
  });

  it('finds a broker only where something accepts connections', async () => {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    expect(await mqttBrokerMissing(`mqtt://127.0.0.1:${port}`)).toBeNull();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await mqttBrokerMissing(`mqtt://127.0.0.1:${port}`)).toMatch(/no MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED/);
  });
});
