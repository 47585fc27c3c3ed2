// Wake-up over MQTT against the machine's Mosquitto (127.0.0.1:1883).
import { afterEach, describe, expect, it } from 'vitest';
import { MQTT_URL as BROKER, mqttBrokerMissing, requirePeer } from '../../testing/peers.js';
import { MqttWakeupPublisher, MqttWakeupSubscriber } from './wakeup.js';

const silent = { warn: () => undefined };

describe('MQTT wake-up', async () => {
  const noBroker = requirePeer('Mosquitto', await mqttBrokerMissing(BROKER));
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it.skipIf(noBroker)('wakes exactly the devices whose target changed', async () => {
    const publisher = new MqttWakeupPublisher(BROKER, silent);
    closers.push(() => publisher.close());
    const woken: string[] = [];
    let resolveB: () => void = () => undefined;
    const gotB = new Promise<void>((resolve) => (resolveB = resolve));
    const a = new MqttWakeupSubscriber(BROKER, `dev-a-${process.pid}`, () => woken.push('a'), silent);
    const b = new MqttWakeupSubscriber(BROKER, `dev-b-${process.pid}`, () => {
      woken.push('b');
      resolveB();
    }, silent);
    closers.push(() => a.close(), () => b.close());
    await Promise.all([publisher.ready(), a.ready(), b.ready()]);
    publisher.publish([`dev-b-${process.pid}`]);
    await gotB;
    // A second message to b travels the same connection after the first; a must have seen nothing.
    const second = new Promise<void>((resolve) => (resolveB = resolve));
    publisher.publish([`dev-b-${process.pid}`]);
    await second;
    expect(woken).toEqual(['b', 'b']);
  });

  it('does not throw or queue while the broker is unreachable', async () => {
    let onWarn: (msg: string) => void = () => undefined;
    const warned = new Promise<string>((resolve) => (onWarn = resolve));
    const publisher = new MqttWakeupPublisher('mqtt://127.0.0.1:1', { warn: (_o, msg) => onWarn(msg) });
    closers.push(() => publisher.close());
    expect(() => publisher.publish(['dev-x'])).not.toThrow();
    expect(await warned).toMatch(/broker unavailable/);
  });
});
