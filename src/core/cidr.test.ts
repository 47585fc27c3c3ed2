// CIDR lists and the X-Forwarded-For walk: pure rules.
import { describe, expect, it } from 'vitest';
import { CidrList, forwardedClient, parseCidr } from './cidr.js';

describe('CIDR lists', () => {
  it('parses CIDRs and bare addresses, and says what is wrong with the rest', () => {
    expect(parseCidr(' 10.0.0.0/8 ')).toEqual({ text: '10.0.0.0/8', address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('fd00::1')).toMatchObject({ prefix: 128, family: 'ipv6' });
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/prefix length outside 0-32/);
    expect(() => parseCidr('fe80::/129')).toThrow(/outside 0-128/);
    expect(() => parseCidr('10.0.0.0/')).toThrow(/prefix/);
    expect(() => parseCidr('proxy.internal')).toThrow(/not an IP address or CIDR/);
    expect(() => CidrList.parse(['10.0.0.1', 'nope'])).toThrow(/'nope'/);
  });

  it('matches IPv4, IPv6, IPv4-mapped IPv6, bracketed and zoned addresses', () => {
    const list = CidrList.parse(['169.254.0.0/16', 'fe80::/10']);
    expect(list.match('169.254.169.254')?.text).toBe('169.254.0.0/16');
    expect(list.match('::ffff:169.254.169.254')?.text).toBe('169.254.0.0/16');
    expect(list.match('::ffff:a9fe:a9fe')?.text).toBe('169.254.0.0/16');
    expect(list.match('[fe80::1%eth0]')?.text).toBe('fe80::/10');
    expect(list.match('10.0.0.1')).toBeNull();
    expect(list.match('not-an-ip')).toBeNull();
    expect(CidrList.parse([]).empty).toBe(true);
    expect(CidrList.parse(['::/0']).coversEverything).toBe(true);
  });

  it('finds the client behind trusted proxies only', () => {
    const proxies = CidrList.parse(['10.0.0.0/8']);
    expect(forwardedClient('198.51.100.1', '1.2.3.4', proxies)).toBe('198.51.100.1');
    expect(forwardedClient('10.0.0.5', '1.2.3.4', proxies)).toBe('1.2.3.4');
    expect(forwardedClient('10.0.0.5', 'spoofed, 1.2.3.4, 10.0.0.7', proxies)).toBe('1.2.3.4');
    expect(forwardedClient('10.0.0.5', ['5.6.7.8', '10.0.0.9'], proxies)).toBe('5.6.7.8');
    expect(forwardedClient('10.0.0.5', undefined, proxies)).toBe('10.0.0.5');
    expect(forwardedClient('10.0.0.5', '1.2.3.4', CidrList.parse([]))).toBe('10.0.0.5');
  });
});
