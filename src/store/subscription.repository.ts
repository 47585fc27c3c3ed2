// Notification subscriptions in SQL (table `subscriptions`, migrations 0005 and 0011). The secret
// is kept as given (it keys an HMAC, so it cannot be hashed) and is never returned by the API.
import type { Kysely } from 'kysely';
import type { Database, SubscriptionRow } from './schema.js';

export const SUBSCRIPTION_FORMATS = ['json', 'slack'] as const;
export type SubscriptionFormat = (typeof SUBSCRIPTION_FORMATS)[number];
export const SUBSCRIPTION_KINDS = ['webhook', 'email'] as const;
export type SubscriptionKind = (typeof SUBSCRIPTION_KINDS)[number];

/**
 * Where events of `events` types go: a webhook POSTs them to `url`; an email subscription mails
 * them to `to` through the server's SMTP settings (its `url` is null, its format 'json' unused).
 */
export interface Subscription {
  id: string;
  name: string;
  kind: SubscriptionKind;
  url: string | null;
  /** Recipients of an email subscription; empty for a webhook. */
  to: string[];
  /** Exact types or prefixes ("rollout.*"). */
  events: string[];
  format: SubscriptionFormat;
  enabled: boolean;
  createdBy: string;
  createdAt: string;
}

/** A subscription with its secret, for the notifier only. */
export interface SubscriptionWithSecret extends Subscription {
  secret: string | null;
}

function toSubscription(row: SubscriptionRow): SubscriptionWithSecret {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind === 'email' ? 'email' : 'webhook',
    url: row.kind === 'email' ? null : row.url,
    to: JSON.parse(row.email_to || '[]') as string[],
    events: JSON.parse(row.event_types) as string[],
    format: row.format as SubscriptionFormat,
    enabled: Number(row.enabled) === 1,
    createdBy: row.created_by,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    secret: row.secret,
  };
}

/** Drops the secret: what the API shows. */
export function publicSubscription(s: SubscriptionWithSecret): Subscription & { hasSecret: boolean } {
  const { secret, ...rest } = s;
  return { ...rest, hasSecret: !!secret };
}

export class SubscriptionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** `afterEventId`: the subscription receives events appended after this id. */
  async create(input: Omit<SubscriptionWithSecret, 'createdAt'>, afterEventId: number, now: number): Promise<SubscriptionWithSecret> {
    const row: SubscriptionRow = {
      id: input.id,
      name: input.name,
      kind: input.kind,
      url: input.url ?? '',
      email_to: JSON.stringify(input.to),
      event_types: JSON.stringify(input.events),
      secret: input.secret,
      format: input.format,
      last_event_id: afterEventId,
      enabled: input.enabled ? 1 : 0,
      created_by: input.createdBy,
      created_at: now,
    };
    await this.db.insertInto('subscriptions').values(row).execute();
    return toSubscription(row);
  }

  async get(id: string): Promise<SubscriptionWithSecret | null> {
    const row = await this.db.selectFrom('subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toSubscription(row) : null;
  }

  async list(): Promise<SubscriptionWithSecret[]> {
    return (await this.db.selectFrom('subscriptions').selectAll().orderBy('created_at').orderBy('id').execute()).map(toSubscription);
  }

  /** The id of the last event handled for this subscription (null when it is gone). */
  async lastEventId(id: string): Promise<number | null> {
    const row = await this.db.selectFrom('subscriptions').select('last_event_id').where('id', '=', id).executeTakeFirst();
    return row ? Number(row.last_event_id) : null;
  }

  async setLastEventId(id: string, eventId: number): Promise<void> {
    await this.db.updateTable('subscriptions').set({ last_event_id: eventId }).where('id', '=', id).execute();
  }

  async remove(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('subscriptions').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
