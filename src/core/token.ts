// Operator roles and what each may do; tokens themselves are random secrets stored only as hashes.
import { createHash, timingSafeEqual } from 'node:crypto';

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: an operator with a role, or a device acting for itself only. */
export type Principal =
  | { kind: 'operator'; tokenId: string; role: Role; name: string }
  | { kind: 'device'; tokenId: string; deviceId: string };

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** True when `role` is at least `needed` (admin > operator > viewer). */
export function roleAllows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/**
 * Compares two secrets in constant time: both are hashed first, so neither their contents nor
 * their lengths show in how long the comparison takes.
 */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
