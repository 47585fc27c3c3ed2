// The simulator process of `npm run bench -- million`: a LightFleet (src/sim/light-fleet.ts) of N
// pull devices, controlled by the bench over IPC. Argument: a JSON object { urls, devices,
// intervalMs, jitter, connections, tokensFile, idPrefix }. Messages in: 'stats', 'stop'; out:
// { type: 'stats', stats, peakRssMb } (the answer to both; after 'stop' the process exits).
import fs from 'node:fs';
import { fleetDeviceId, LightFleet } from '../sim/light-fleet.js';

interface SimArgs {
  /** One server, or several sharing one PostgreSQL database (device i talks to urls[i mod n]). */
  urls: string[];
  devices: number;
  intervalMs: number;
  jitter: number;
  connections: number;
  tokensFile: string;
  idPrefix: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as SimArgs;
const fleet = new LightFleet({
  url: args.urls,
  devices: args.devices,
  idOf: (i) => fleetDeviceId(args.idPrefix, i),
  tokens: new Uint8Array(fs.readFileSync(args.tokensFile)),
  intervalMs: args.intervalMs,
  jitter: args.jitter,
  connections: args.connections,
});

const answer = () => process.send!({ type: 'stats', stats: fleet.stats(), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) });
process.on('message', (message) => {
  if (message === 'stats') answer();
  if (message === 'stop') {
    void fleet.stop().then(() => {
      answer();
      process.disconnect();
    });
  }
});
process.on('disconnect', () => process.exit(0));
fleet.start();
process.send!({ type: 'started' });
