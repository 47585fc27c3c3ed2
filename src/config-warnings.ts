// The insecure opt-ins in force, for the start-up log: every setting that opens something
// docs/security.md says is closed by default. Pure: a function of the configuration and of what
// the server bound.
import { isLoopbackHost } from './api/listen.js';
import type { Config } from './config.js';
import { CidrList } from './core/index.js';
import { OutboundGuard } from './outbound/index.js';

/** One opt-in: the setting that opened it and what it opens. */
export interface InsecureSetting {
  setting: string;
  message: string;
}

const MIN_WEBHOOK_SECRET = 16;

export function insecureSettings(config: Config): InsecureSetting[] {
  const found: InsecureSetting[] = [];
  // With trusted proxies named, the operator has said a (TLS) proxy is in front.
  if (config.host !== undefined && !isLoopbackHost(config.host) && config.trustedProxies.length === 0) {
    found.push({ setting: 'ORCHESTRATOR_HOST', message: `listening on ${config.host} over plain HTTP with no proxy named in ORCHESTRATOR_TRUSTED_PROXIES: tokens and artifacts cross the network unencrypted unless a TLS proxy is in front (docs/operations.md#tls)` });
  }
  if (config.sshTrustOnFirstUse) {
    found.push({ setting: 'ORCHESTRATOR_SSH_TOFU', message: 'unknown SSH host keys are accepted on first use and remembered: whoever answers a device\'s address first is trusted as that device' });
  }
  const proxies = CidrList.parse(config.trustedProxies);
  if (proxies.coversEverything) {
    found.push({ setting: 'ORCHESTRATOR_TRUSTED_PROXIES', message: `${proxies.rules.filter((r) => r.prefix === 0).map((r) => r.text).join(', ')} trusts every peer's X-Forwarded-For: any client can choose the address its rate limits and the logs see` });
  }
  if (!config.requireSignedArtifacts) {
    found.push({ setting: 'ORCHESTRATOR_REQUIRE_SIGNED', message: 'artifacts without an ed25519 signature are accepted: an operator token alone can roll out any code (set ORCHESTRATOR_REQUIRE_SIGNED=1 and ORCHESTRATOR_TRUSTED_KEYS)' });
  }
  const metadata = OutboundGuard.fromEntries(config.outboundDeny).allowsMetadata;
  if (metadata.length) {
    found.push({ setting: 'ORCHESTRATOR_OUTBOUND_DENY', message: `push deliveries and notifications may connect to the cloud metadata address${metadata.length > 1 ? 'es' : ''} ${metadata.join(', ')}, where this machine's own credentials may be served` });
  }
  if (config.authRateLimitPerMinute === 0) {
    found.push({ setting: 'ORCHESTRATOR_AUTH_RATE_LIMIT', message: 'failed authentications on the operator API, WebSocket, enrollment and webhooks are not rate-limited: tokens and keys can be guessed at full speed' });
  }
  if (config.deviceAuthRateLimitPerMinute === 0) {
    found.push({ setting: 'ORCHESTRATOR_DEVICE_AUTH_RATE_LIMIT', message: 'failed authentications on the device API, hawkBit DDI and Mender are not rate-limited' });
  }
  if (config.webhookRateLimitPerMinute === 0) {
    found.push({ setting: 'ORCHESTRATOR_WEBHOOK_RATE_LIMIT', message: 'registry webhook requests are not rate-limited' });
  }
  if (config.webhookSecret !== undefined && config.webhookSecret.length < MIN_WEBHOOK_SECRET) {
    found.push({ setting: 'ORCHESTRATOR_WEBHOOK_SECRET', message: `the registry webhook secret has ${config.webhookSecret.length} characters, fewer than ${MIN_WEBHOOK_SECRET}: it may be guessed (openssl rand -hex 32 makes a good one)` });
  }
  return found;
}
