// Events: the append-only audit log of everything that happened, and the feed for live views.

export interface EventRecord {
  id: number;
  /** ISO-8601 instant. */
  ts: string;
  /** Dotted type: "device.created", "execution.succeeded", "rollout.paused", "webhook.received". */
  type: string;
  /** Who caused it: "token:<id>", "device:<id>", "engine", "system". */
  actor: string | null;
  rolloutId: string | null;
  deviceId: string | null;
  executionId: string | null;
  data: Record<string, unknown>;
}

export type NewEvent = Omit<EventRecord, 'id' | 'ts' | 'rolloutId' | 'deviceId' | 'executionId' | 'actor' | 'data'> &
  Partial<Pick<EventRecord, 'rolloutId' | 'deviceId' | 'executionId' | 'actor' | 'data'>>;

export interface EventQuery {
  rolloutId?: string;
  deviceId?: string;
  /** Exact type, or a prefix ending in "." or "*" ("execution.", "rollout.*"). */
  type?: string[];
  since?: number;
  until?: number;
  /** Only events with an id greater than this, oldest first (resume after a reconnect). */
  afterId?: number;
  /** Only events with an id smaller than this, newest first (the next page of a newest-first list). */
  beforeId?: number;
  limit: number;
}

/** The prefix a type pattern stands for ("execution.*" and "execution." -> "execution."), or null for an exact type. */
export function eventTypePrefix(pattern: string): string | null {
  if (pattern.endsWith('*')) return pattern.slice(0, -1);
  if (pattern.endsWith('.')) return pattern;
  return null;
}

/** Matches a type against "execution.succeeded", "execution.*" or "execution.". */
export function eventTypeMatches(pattern: string, type: string): boolean {
  const prefix = eventTypePrefix(pattern);
  return prefix === null ? type === pattern : type.startsWith(prefix);
}
