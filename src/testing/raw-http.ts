// Test support: one HTTP request with node:http, answering the status, the raw headers (names
// lower-cased, in the order sent) and the body, for tests that compare answers header by header.
import http from 'node:http';

export interface RawAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

export function rawRequest(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(base + path, { method, headers, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        const raw = response.rawHeaders;
        const pairs: [string, string][] = [];
        for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
        resolve({ status: response.statusCode!, headers: pairs, body });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

/** The headers without those that differ between any two answers (Date) or that the test names. */
export function comparable(answer: RawAnswer, ignore: string[] = []): { status: number; headers: [string, string][]; body: string } {
  const skip = new Set(['date', ...ignore]);
  return { status: answer.status, headers: answer.headers.filter(([name]) => !skip.has(name)), body: answer.body };
}
