// The cluster channel of one server alone (SQLite): publish reaches this server's subscribers and
// nobody else. Servers in one process (tests) may share an InProcessBus, which carries messages
// between them as PostgreSQL would, asynchronously and in order.
import type { StoreTransaction } from '../store/index.js';
import { serialised, silentLog, SubscribersChannel, type ChannelLog, type ClusterChannel, type Topic } from './channel.js';

/** Servers of one process that hear each other. */
export class InProcessBus {
  readonly members = new Set<InProcessChannel>();
}

export class InProcessChannel extends SubscribersChannel implements ClusterChannel {
  private listening = false;

  constructor(
    private readonly bus?: InProcessBus,
    log: ChannelLog = silentLog,
  ) {
    super(log);
  }

  get reachesOtherServers(): boolean {
    return this.bus !== undefined;
  }

  async start(): Promise<void> {
    this.listening = true;
    this.bus?.members.add(this);
  }

  async stop(): Promise<void> {
    this.listening = false;
    this.bus?.members.delete(this);
    this.subscribers.clear();
  }

  publish<T>(topic: Topic<T>, payload: T): void {
    serialised(topic, payload);
    this.subscribers.deliver(topic.name, payload, this.serverId, true);
    this.toOthers(topic, payload);
  }

  /**
   * In-process servers share no transaction to wait for: the others hear it at once, committed or
   * not (on one server alone there is no one to tell).
   */
  async publishIn<T>(_tx: StoreTransaction, topic: Topic<T>, payload: T): Promise<void> {
    serialised(topic, payload);
    this.toOthers(topic, payload);
  }

  private toOthers<T>(topic: Topic<T>, payload: T): void {
    if (!this.bus) return;
    // A copy, as if it had crossed the wire: receivers cannot share the sender's object.
    const copy = JSON.parse(JSON.stringify(payload)) as unknown;
    for (const member of this.bus.members) {
      if (member !== this) queueMicrotask(() => member.receive(topic.name, copy, this.serverId));
    }
  }

  private receive(topicName: string, payload: unknown, origin: string): void {
    if (this.listening) this.subscribers.deliver(topicName, payload, origin, false);
  }
}
