// Address lists written as CIDRs (ORCHESTRATOR_TRUSTED_PROXIES, ORCHESTRATOR_OUTBOUND_DENY): parse
// "10.0.0.0/8", "fe80::/10" or a single address, and say which entry an address falls in. Pure:
// node:net's BlockList does the matching, IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) included.
import net from 'node:net';

/** One parsed entry. */
export interface CidrRule {
  /** As written (trimmed), for messages. */
  text: string;
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses "address/prefix" or a bare address (a /32 or /128); throws an Error that says what is wrong. */
export function parseCidr(text: string): CidrRule {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const address = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const version = net.isIP(address);
  if (version === 0) throw new Error(`'${trimmed}' is not an IP address or CIDR (such as 10.0.0.0/8 or fd00::/8)`);
  const max = version === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : trimmed.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) throw new Error(`'${trimmed}' has a prefix length outside 0-${max}`);
  return { text: trimmed, address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** The address without brackets or an IPv6 zone ("[fe80::1%eth0]" -> "fe80::1"). */
export function plainAddress(address: string): string {
  return address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
}

/** An ordered list of CIDR rules. */
export class CidrList {
  private readonly lists: { rule: CidrRule; list: net.BlockList }[];

  constructor(readonly rules: CidrRule[]) {
    this.lists = rules.map((rule) => {
      const list = new net.BlockList();
      list.addSubnet(rule.address, rule.prefix, rule.family);
      return { rule, list };
    });
  }

  /** Parses every entry; an error names the entry (prefix it with the setting's name). */
  static parse(entries: string[]): CidrList {
    return new CidrList(entries.map((entry) => entry.trim()).filter(Boolean).map(parseCidr));
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The first rule `address` falls in, or null (also for something that is not an IP address). */
  match(address: string): CidrRule | null {
    const ip = plainAddress(address);
    const version = net.isIP(ip);
    if (version === 0) return null;
    const family = version === 4 ? 'ipv4' : 'ipv6';
    for (const { rule, list } of this.lists) if (list.check(ip, family)) return rule;
    return null;
  }

  /** True when the list holds a rule that covers every address (0.0.0.0/0 or ::/0). */
  get coversEverything(): boolean {
    return this.rules.some((rule) => rule.prefix === 0);
  }
}

/**
 * The client address by the X-Forwarded-For chain: starting from the socket's peer, each hop that
 * is a trusted proxy hands over to the address it forwarded for; the first untrusted one is the
 * client. The same walk as Fastify's trustProxy (proxy-addr), for code outside its requests (the
 * WebSocket upgrade).
 */
export function forwardedClient(peer: string, forwardedFor: string | string[] | undefined, trusted: CidrList): string {
  const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '')).split(',').map((hop) => hop.trim()).filter(Boolean);
  let client = peer;
  while (chain.length && trusted.match(client)) client = chain.pop()!;
  return client;
}
