// The POS fleet of seed 002: point-of-sale terminals in stores across US time zones, with a mix of
// connectivity (online, offline, unknown), firmware versions, regions, store types and priorities.
// Deterministic for a given size, so the demo prints the same plan every time.
import type { DeviceInput } from '../core/index.js';
import { seededRandom } from '../sim/index.js';

/** One store: where it is, which region it belongs to, how important it is. */
interface Store {
  city: string;
  state: string;
  timezone: string;
  region: 'east' | 'central' | 'mountain' | 'west' | 'pacific';
  type: 'flagship' | 'standard' | 'express';
  priority: 'high' | 'normal' | 'low';
}

const STORES: Store[] = [
  { city: 'New York', state: 'NY', timezone: 'America/New_York', region: 'east', type: 'flagship', priority: 'high' },
  { city: 'Boston', state: 'MA', timezone: 'America/New_York', region: 'east', type: 'standard', priority: 'normal' },
  { city: 'Miami', state: 'FL', timezone: 'America/New_York', region: 'east', type: 'express', priority: 'low' },
  { city: 'Atlanta', state: 'GA', timezone: 'America/New_York', region: 'east', type: 'standard', priority: 'normal' },
  { city: 'Chicago', state: 'IL', timezone: 'America/Chicago', region: 'central', type: 'flagship', priority: 'high' },
  { city: 'Dallas', state: 'TX', timezone: 'America/Chicago', region: 'central', type: 'standard', priority: 'normal' },
  { city: 'Minneapolis', state: 'MN', timezone: 'America/Chicago', region: 'central', type: 'express', priority: 'low' },
  { city: 'Denver', state: 'CO', timezone: 'America/Denver', region: 'mountain', type: 'standard', priority: 'normal' },
  { city: 'Phoenix', state: 'AZ', timezone: 'America/Phoenix', region: 'mountain', type: 'express', priority: 'low' },
  { city: 'Los Angeles', state: 'CA', timezone: 'America/Los_Angeles', region: 'west', type: 'flagship', priority: 'high' },
  { city: 'San Francisco', state: 'CA', timezone: 'America/Los_Angeles', region: 'west', type: 'standard', priority: 'normal' },
  { city: 'Seattle', state: 'WA', timezone: 'America/Los_Angeles', region: 'west', type: 'standard', priority: 'normal' },
  { city: 'Anchorage', state: 'AK', timezone: 'America/Anchorage', region: 'pacific', type: 'express', priority: 'low' },
  { city: 'Honolulu', state: 'HI', timezone: 'Pacific/Honolulu', region: 'pacific', type: 'standard', priority: 'normal' },
];

/** Firmware the terminals run before the demo, oldest first (a few still below 2.3.0). */
export const POS_VERSIONS = ['2.2.4', '2.3.0', '2.3.5', '2.4.0'] as const;

/** How a terminal is connected during the demo: polls now, polls only later, or never seen. */
export type PosConnectivity = 'online' | 'offline' | 'unknown';

/** A terminal of the fleet: its registry record and how the simulator treats it. */
export interface PosTerminal {
  device: DeviceInput;
  connectivity: PosConnectivity;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

/**
 * `size` terminals spread over the stores (lanes numbered per store): about 75% online, 17%
 * offline (intermittent links: they connect later in the demo), 8% never seen (unknown).
 */
export function posFleet(size: number, seed = 2): PosTerminal[] {
  const random = seededRandom(seed);
  const lanes = new Map<string, number>();
  const fleet: PosTerminal[] = [];
  for (let i = 0; i < size; i++) {
    const store = STORES[i % STORES.length]!;
    const lane = (lanes.get(store.city) ?? 0) + 1;
    lanes.set(store.city, lane);
    const roll = random();
    const connectivity: PosConnectivity = roll < 0.75 ? 'online' : roll < 0.92 ? 'offline' : 'unknown';
    const version = POS_VERSIONS[Math.floor(random() * POS_VERSIONS.length)]!;
    const id = `pos-${slug(store.city)}-${String(lane).padStart(3, '0')}`;
    fleet.push({
      connectivity,
      device: {
        id,
        name: `${store.city} lane ${lane}`,
        address: null,
        mode: 'pull',
        status: connectivity,
        lastSeen: null,
        version,
        location: `${store.city}, ${store.state}`,
        timezone: store.timezone,
        tags: { region: store.region, store: slug(store.city), type: store.type, priority: store.priority },
        metadata: { model: store.type === 'flagship' ? 'POS-9000' : 'POS-5000', lane },
      },
    });
  }
  return fleet;
}
