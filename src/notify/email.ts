// Email notifications over SMTP (nodemailer): the server-wide transport settings read from the
// configuration, and a sender that answers each attempt as sent, retry or failed, as the webhook
// lanes do. TLS is implicit (smtps, port 465) or STARTTLS, required unless `none` says otherwise;
// certificates are verified (system CAs, or ORCHESTRATOR_SMTP_CA). The password is only handed
// to nodemailer: never logged, never in an error text, never answered.
import fs from 'node:fs';
import os from 'node:os';
import nodemailer, { type Transporter } from 'nodemailer';

export const SMTP_SECURITY = ['tls', 'starttls', 'none'] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

/** Where and how notification mail is sent. */
export interface SmtpSettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  user: string | null;
  password: string | null;
  from: string;
  /** PEM CA certificates trusted for the server's certificate; null for the system's. */
  ca: string | null;
}

/** The settings an operator may see: no password. */
export function describeSmtp(s: SmtpSettings): Record<string, unknown> {
  return { host: s.host, port: s.port, security: s.security, user: s.user, hasPassword: s.password !== null, from: s.from, ca: s.ca ? 'custom' : 'system' };
}

export interface SmtpConfig {
  smtpUrl: string | undefined;
  smtpUser: string | undefined;
  smtpPassword: string | undefined;
  smtpSecurity: string | undefined;
  smtpCaFile: string | undefined;
  smtpFrom: string | undefined;
}

/** A bare address (local@domain), as recipients and the From address must be. */
export const EMAIL_ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Reads ORCHESTRATOR_SMTP_* into settings; null when no SMTP URL is set. Throws an Error naming the
 * setting that is wrong (the server does not start), never echoing the URL (it may hold a password).
 */
export function smtpSettings(config: SmtpConfig): SmtpSettings | null {
  if (!config.smtpUrl) return null;
  let url: URL;
  try {
    url = new URL(config.smtpUrl);
  } catch {
    throw new Error('ORCHESTRATOR_SMTP_URL must be smtp://[user[:password]@]host[:port] or smtps://... (it is not a URL)');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new Error(`ORCHESTRATOR_SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (implicit TLS), not ${url.protocol}//`);
  if (!url.hostname) throw new Error('ORCHESTRATOR_SMTP_URL has no host');
  const security = (config.smtpSecurity ?? (url.protocol === 'smtps:' ? 'tls' : 'starttls')) as SmtpSecurity;
  if (!SMTP_SECURITY.includes(security)) throw new Error(`ORCHESTRATOR_SMTP_SECURITY must be ${SMTP_SECURITY.join(', ')} (got '${config.smtpSecurity}')`);
  const port = url.port ? Number(url.port) : security === 'tls' ? 465 : 587;
  const user = config.smtpUser ?? (url.username ? decodeURIComponent(url.username) : null);
  const password = config.smtpPassword ?? (url.password ? decodeURIComponent(url.password) : null);
  if (password !== null && user === null) throw new Error('ORCHESTRATOR_SMTP_PASSWORD is set without a user (ORCHESTRATOR_SMTP_USER, or user@ in ORCHESTRATOR_SMTP_URL)');
  if (password !== null && security === 'none' && !isLoopback(url.hostname)) {
    throw new Error('ORCHESTRATOR_SMTP_SECURITY=none would send the SMTP password unencrypted to a host that is not loopback; use starttls or tls');
  }
  const from = config.smtpFrom ?? `update-orchestrator@${user && user.includes('@') ? user.split('@')[1] : os.hostname()}`;
  if (!EMAIL_ADDRESS.test(from)) throw new Error(`ORCHESTRATOR_SMTP_FROM must be an address such as orchestrator@example.com (got '${from.slice(0, 100)}')`);
  let ca: string | null = null;
  if (config.smtpCaFile) {
    try {
      ca = fs.readFileSync(config.smtpCaFile, 'utf8');
    } catch (error) {
      throw new Error(`ORCHESTRATOR_SMTP_CA: cannot read '${config.smtpCaFile}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, security, user, password, from, ca };
}

const isLoopback = (host: string) => host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);

/** One message to send. */
export interface MailMessage {
  to: string[];
  subject: string;
  text: string;
  /** Message headers of ours (X-Orchestrator-Event, X-Orchestrator-Delivery). */
  headers: Record<string, string>;
}

/** How one attempt went, in the notifier's terms. */
export interface SendResult {
  outcome: 'sent' | 'retry' | 'failed';
  /** For the log: an SMTP reply code and text, or a network error code. */
  detail: string;
}

/** Sends notification mail; what the notifier's email lanes use. */
export interface MailSender {
  send(message: MailMessage): Promise<SendResult>;
  close(): void;
}

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/**
 * An SMTP failure as the notifier treats it: a 5xx reply is final (the server refused this
 * message or its recipients, or the login), a 4xx reply and any connection or TLS problem is
 * retried. The detail is the reply or the error code, with the password (if it appears) masked.
 */
export function classifySmtpError(error: unknown, password: string | null): SendResult {
  const e = (error ?? {}) as SmtpError;
  const reply = typeof e.response === 'string' ? e.response : (e.message ?? String(error));
  let detail = `${e.responseCode ? `SMTP ${e.responseCode}` : (e.code ?? 'error')}: ${reply}`.replace(/[\r\n]+/g, ' ').slice(0, 300);
  if (password) detail = detail.split(password).join('[redacted]');
  const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600;
  return { outcome: permanent ? 'failed' : 'retry', detail };
}

/** The nodemailer transport for these settings (one connection per message; nothing pooled). */
export class SmtpMailer implements MailSender {
  private readonly transport: Transporter;

  constructor(
    private readonly settings: SmtpSettings,
    timeoutMs = 10_000,
  ) {
    this.transport = nodemailer.createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.security === 'tls',
      requireTLS: settings.security === 'starttls',
      ignoreTLS: settings.security === 'none',
      ...(settings.user ? { auth: { user: settings.user, pass: settings.password ?? '' } } : {}),
      tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2', ...(settings.ca ? { ca: settings.ca } : {}) },
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs * 3,
      logger: false,
      debug: false,
    });
  }

  async send(message: MailMessage): Promise<SendResult> {
    try {
      const info = await this.transport.sendMail({ from: this.settings.from, to: message.to, subject: message.subject, text: message.text, headers: message.headers, disableFileAccess: true, disableUrlAccess: true });
      const rejected = (info.rejected ?? []).length;
      return { outcome: 'sent', detail: rejected ? `accepted, ${rejected} recipient(s) refused` : `accepted: ${String(info.response ?? '').slice(0, 200)}` };
    } catch (error) {
      return classifySmtpError(error, this.settings.password);
    }
  }

  close(): void {
    this.transport.close();
  }
}
