// Test support: a real SMTP server (the smtp-server package) on 127.0.0.1 with STARTTLS or
// implicit TLS and a login, that parses every message it accepts (mailparser) and can answer a
// recipient or a message with a scripted SMTP error. Its certificate is made with openssl for
// 127.0.0.1, so a client trusts it only when given the CA file.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope sender and recipients, as the client gave them. */
  from: string;
  to: string[];
  /** Whether the connection was encrypted (STARTTLS or implicit TLS) when the message came. */
  secure: boolean;
  user: string | null;
  parsed: ParsedMail;
  raw: string;
}

export interface TestSmtpServer {
  port: number;
  /** PEM file of the self-signed certificate, to pass as ORCHESTRATOR_SMTP_CA. */
  caFile: string;
  received: ReceivedMail[];
  /** Failed logins seen (user names only). */
  refusedLogins: string[];
  /** Resolves once `predicate` holds over what was received. */
  until(predicate: (received: ReceivedMail[]) => boolean): Promise<void>;
  close(): Promise<void>;
}

export interface SmtpServerOptions {
  /** true: implicit TLS (smtps); false: plain with STARTTLS offered. */
  secure: boolean;
  user: string;
  password: string;
  /** Reply codes for DATA, in turn, per recipient address (e.g. 451 twice, then accepted). */
  dataScript?: Record<string, number[]>;
  /** Recipients refused at RCPT TO with this code. */
  refuse?: Record<string, number>;
}

/** A self-signed certificate for 127.0.0.1 and localhost, in `dir`. */
export function selfSignedCert(dir: string): { key: string; cert: string; certFile: string } {
  const keyFile = path.join(dir, 'smtp-key.pem');
  const certFile = path.join(dir, 'smtp-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'pipe' });
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile };
}

export async function startSmtpServer(options: SmtpServerOptions): Promise<TestSmtpServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uo-smtp-'));
  const { key, cert, certFile } = selfSignedCert(dir);
  const received: ReceivedMail[] = [];
  const refusedLogins: string[] = [];
  const waiters: { predicate: (r: ReceivedMail[]) => boolean; resolve: () => void }[] = [];
  const wake = () => {
    for (const w of [...waiters]) {
      if (!w.predicate(received)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const scripts = Object.fromEntries(Object.entries(options.dataScript ?? {}).map(([k, v]) => [k, [...v]]));
  const reply = (code: number, text: string) => Object.assign(new Error(text), { responseCode: code });
  const server = new SMTPServer({
    secure: options.secure,
    key,
    cert,
    authMethods: ['PLAIN', 'LOGIN'],
    // Logins only over TLS, as a real submission server would.
    allowInsecureAuth: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === options.user && auth.password === options.password) return callback(null, { user: auth.username });
      refusedLogins.push(auth.username ?? '');
      wake();
      callback(reply(535, 'Authentication credentials invalid'));
    },
    onRcptTo(address, _session, callback) {
      const code = options.refuse?.[address.address];
      callback(code ? reply(code, `mailbox ${address.address} unavailable`) : undefined);
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        const scripted = to.map((a) => scripts[a]?.shift()).find((c) => c !== undefined);
        if (scripted) return callback(reply(scripted, 'try again later'));
        const raw = Buffer.concat(chunks).toString();
        void simpleParser(raw).then((parsed) => {
          received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to, secure: session.secure, user: (session.user as string | undefined) ?? null, parsed, raw });
          callback();
          wake();
        }, callback);
      });
    },
  });
  // A client that refuses the certificate closes mid-handshake: expected here, not a test failure.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    caFile: certFile,
    received,
    refusedLogins,
    until: (predicate) => (predicate(received) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ predicate, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        fs.rmSync(dir, { recursive: true, force: true });
      }),
  };
}

/** Log lines of an app (pino JSON), captured for assertions, with a wait for one that matches. */
export function captureLogs(): { lines: string[]; write(line: string): void; until(pattern: RegExp): Promise<string> } {
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  return {
    lines,
    write(chunk: string) {
      for (const line of chunk.split('\n').filter(Boolean)) {
        lines.push(line);
        for (const w of [...waiters]) {
          if (!w.pattern.test(line)) continue;
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    },
    until(pattern) {
      const found = lines.find((l) => pattern.test(l));
      return found ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
  };
}
