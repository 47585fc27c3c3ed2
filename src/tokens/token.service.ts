// Operator tokens as a use case: a token and its `token.created` (or its revocation and
// `token.revoked`) commit together in one unit of work, and the event is published through the
// EventLog after the commit, so WebSocket subscribers, notifications and the cache sync of every
// server see it. The plaintext is answered once and never logged.
import { NotFoundError, type Clock, type Role } from '../core/index.js';
import type { EventLog, Repositories, StoreTransaction, TokenRecord } from '../store/index.js';

/** A new operator token: its plaintext (shown once) and what identifies it. */
export interface CreatedToken {
  token: string;
  id: string;
  role: Role;
  name: string;
}

export interface TokenServiceDeps {
  store: Pick<Repositories, 'tokens'> & { transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T> };
  events: EventLog;
  clock: Clock;
  /** Called after a revocation commits: drop this server's cached principals at once. */
  revoked?: () => void;
}

export class TokenService {
  constructor(private readonly deps: TokenServiceDeps) {}

  async create(input: { role: Role; name?: string }, actor: string): Promise<CreatedToken> {
    const name = input.name ?? `${input.role}-token`;
    const now = this.deps.clock.now();
    const { created, records } = await this.deps.store.transaction(async (tx) => {
      const { token, record } = await tx.tokens.create({ kind: 'operator', role: input.role, name }, now);
      const records = await this.deps.events.append([{ type: 'token.created', actor, data: { id: record.id, role: input.role, name: record.name } }], tx);
      return { created: { token, id: record.id, role: input.role, name: record.name }, records };
    });
    this.deps.events.publish(records);
    return created;
  }

  /** Every token, never a secret. */
  list(): Promise<TokenRecord[]> {
    return this.deps.store.tokens.list();
  }

  /** Revokes a live token by id; NotFoundError when there is none (unknown, or revoked already). */
  async revoke(id: string, actor: string): Promise<void> {
    const now = this.deps.clock.now();
    const records = await this.deps.store.transaction(async (tx) => {
      if (!(await tx.tokens.revoke(id, now))) throw new NotFoundError('live token', id);
      return this.deps.events.append([{ type: 'token.revoked', actor, data: { id } }], tx);
    });
    this.deps.revoked?.();
    this.deps.events.publish(records);
  }
}
