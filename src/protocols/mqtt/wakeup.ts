// Wake-up over MQTT: the server publishes `devices/{id}/wakeup` when a device's target changes,
// and a device subscribed to its topic polls at once. Polling stays the source of truth, so a
// message lost while the broker is away costs only latency: nothing is queued offline.
import mqtt, { type MqttClient } from 'mqtt';

/** Topic a device listens on. */
export const wakeupTopic = (deviceId: string) => `devices/${deviceId}/wakeup`;

/** A logger as much as this module needs (pino fits). */
export interface WakeupLogger {
  warn(obj: object, msg: string): void;
}

/** Publishes wake-ups; connects in the background and reconnects by itself. */
export class MqttWakeupPublisher {
  private readonly client: MqttClient;
  private lastError = '';

  constructor(url: string, logger: WakeupLogger, clientId = `orchestrator-${process.pid}-${Math.random().toString(16).slice(2, 8)}`) {
    this.client = mqtt.connect(url, { clientId, reconnectPeriod: 2000, queueQoSZero: false, connectTimeout: 5000 });
    this.client.on('error', (error) => {
      // Log each distinct failure once, not on every reconnect attempt.
      if (error.message !== this.lastError) logger.warn({ err: error.message, broker: new URL(url).host }, 'MQTT wake-up broker unavailable; devices still poll');
      this.lastError = error.message;
    });
    this.client.on('connect', () => {
      this.lastError = '';
    });
  }

  /** Resolves once connected (tests); the server does not wait for it. */
  async ready(): Promise<void> {
    if (this.client.connected) return;
    await new Promise<void>((resolve) => this.client.once('connect', () => resolve()));
  }

  /** Fire and forget: QoS 0, not retained (a wake-up is only useful now). */
  publish(deviceIds: readonly string[]): void {
    if (!this.client.connected) return;
    const payload = JSON.stringify({ ts: Date.now() });
    for (const id of deviceIds) this.client.publish(wakeupTopic(id), payload, { qos: 0, retain: false });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

/** Subscribes one device to its wake-up topic; `onWakeup` runs for every message. */
export class MqttWakeupSubscriber {
  private readonly client: MqttClient;
  private markSubscribed: () => void = () => undefined;
  private readonly subscribed = new Promise<void>((resolve) => (this.markSubscribed = resolve));

  constructor(url: string, deviceId: string, onWakeup: () => void, logger: WakeupLogger) {
    const topic = wakeupTopic(deviceId);
    this.client = mqtt.connect(url, { clientId: `device-${deviceId}-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 2000, connectTimeout: 5000 });
    // (Re)subscribe on every connect: a clean session forgets subscriptions.
    this.client.on('connect', () => {
      this.client.subscribe(topic, { qos: 0 }, (error) => {
        if (error) logger.warn({ err: error.message }, 'MQTT wake-up subscription failed; polling continues');
        else this.markSubscribed();
      });
    });
    this.client.on('message', (received) => {
      if (received === topic) onWakeup();
    });
    this.client.on('error', (error) => logger.warn({ err: error.message }, 'MQTT wake-up broker unavailable; polling continues'));
  }

  /** Resolves once subscribed (tests). */
  async ready(): Promise<void> {
    await this.subscribed;
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
