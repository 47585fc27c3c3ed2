// Outbound connections the server opens on someone's say-so (push deliveries over HTTP and SSH,
// notification webhooks) refuse addresses on a deny list: by default link-local and cloud-metadata
// ranges, where a server's own credentials live (169.254.169.254 answers instance credentials on
// most clouds). The check runs on the address the socket connects to: in the DNS lookup the socket
// itself uses (net/tls `lookup`, undici's `connect.lookup`), on every connection, so a name that
// resolves to an allowed address for a check and to a denied one for the connect (DNS rebinding)
// is refused too. Loopback is allowed: one-machine setups and tests push to 127.0.0.1.
import dns from 'node:dns';
import net from 'node:net';
import { CidrList, plainAddress, type CidrRule } from '../core/index.js';

/**
 * The default deny list (ORCHESTRATOR_OUTBOUND_DENY unset, or its `default` entry): "this host"
 * (0.0.0.0/8 and :: connect to the local machine on Linux), IPv4 and IPv6 link-local (AWS, GCP,
 * Azure, OCI metadata at 169.254.169.254), AWS's IPv6 metadata address, Alibaba Cloud's metadata
 * address, and the NAT64 form of the link-local range.
 */
export const DEFAULT_OUTBOUND_DENY = ['0.0.0.0/8', '169.254.0.0/16', '::/128', 'fe80::/10', 'fd00:ec2::254/128', '100.100.100.200/32', '64:ff9b::a9fe:0/112'];

/** Cloud metadata addresses; a deny list that lets one through is warned about at start. */
export const METADATA_ADDRESSES = ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200'];

/** A connection refused because its address is on the deny list. */
export class OutboundDeniedError extends Error {
  readonly code = 'ERR_OUTBOUND_DENIED';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly rule: CidrRule,
  ) {
    super(`${host === address ? address : `${host} resolves to ${address}, which`} is in ${rule.text}, refused by ORCHESTRATOR_OUTBOUND_DENY (link-local and cloud-metadata addresses by default; see docs/security.md)`);
    this.name = 'OutboundDeniedError';
  }
}

/** The deny-list refusal inside an error a client library may have wrapped (undici, fetch), or null. */
export function outboundDenial(error: unknown): OutboundDeniedError | null {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof OutboundDeniedError) return e;
  }
  return null;
}

/** Expands ORCHESTRATOR_OUTBOUND_DENY entries: `default` is the default list, `none` (alone) an empty one. */
export function outboundDenyEntries(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return [...DEFAULT_OUTBOUND_DENY];
  const entries = raw.split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.length === 1 && entries[0]!.toLowerCase() === 'none') return [];
  return entries.flatMap((e) => (e.toLowerCase() === 'default' ? DEFAULT_OUTBOUND_DENY : [e]));
}

/** Resolves a name to all its addresses, as dns.lookup with { all: true } does. */
export type OutboundResolver = (hostname: string, options: dns.LookupAllOptions, callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void) => void;

/** Checks outbound addresses against a deny list. */
export class OutboundGuard {
  constructor(
    readonly deny: CidrList,
    /** DNS resolution (tests substitute one that changes its answer between calls). */
    private readonly resolveAll: OutboundResolver = (hostname, options, callback) => dns.lookup(hostname, options, callback),
  ) {}

  static fromEntries(entries: string[] = DEFAULT_OUTBOUND_DENY): OutboundGuard {
    return new OutboundGuard(CidrList.parse(entries));
  }

  /** Throws OutboundDeniedError when `address` (an IP) is denied; `host` names it in the message. */
  check(address: string, host = address): void {
    const rule = this.deny.match(address);
    if (rule) throw new OutboundDeniedError(host, plainAddress(address), rule);
  }

  /**
   * For a host that is an IP literal: sockets skip the lookup for those, so check it before
   * connecting. Names are checked by `lookup` at connect time.
   */
  checkHost(hostname: string): void {
    const plain = plainAddress(hostname);
    if (net.isIP(plain)) this.check(plain, plain);
  }

  /**
   * A `lookup` for net.connect / tls.connect / undici's `connect` option: resolves as dns.lookup
   * does, and fails the connection when any address of the name is denied.
   */
  readonly lookup = ((hostname: string, options: dns.LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void) => {
    this.resolveAll(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, options.all ? [] : '', 0);
      try {
        for (const { address } of addresses) this.check(address, hostname);
      } catch (denied) {
        return callback(denied as NodeJS.ErrnoException, options.all ? [] : '', 0);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  }) as unknown as net.LookupFunction;

  /** Resolves `host` to one allowed address to connect to (for clients that take an address, such as ssh2). */
  async resolve(host: string): Promise<string> {
    const plain = plainAddress(host);
    if (net.isIP(plain)) {
      this.check(plain);
      return plain;
    }
    const addresses = await new Promise<dns.LookupAddress[]>((resolve, reject) => this.resolveAll(plain, { all: true }, (error, found) => (error ? reject(error) : resolve(found))));
    for (const { address } of addresses) this.check(address, plain);
    if (!addresses[0]) throw Object.assign(new Error(`${plain} has no address`), { code: 'ENOTFOUND' });
    return addresses[0].address;
  }

  /** True when one of the cloud metadata addresses would be allowed (for the start-up warnings). */
  get allowsMetadata(): string[] {
    return METADATA_ADDRESSES.filter((address) => !this.deny.match(address));
  }
}
