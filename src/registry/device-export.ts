// Streams devices out as CSV or NDJSON, a page at a time, in the import format.
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { Device, DeviceFilter } from '../core/index.js';
import { CSV_COLUMNS, deviceToCsvRecord, deviceToJson } from './device-csv.js';
import type { DeviceFormat } from './device-import.js';

export function exportDevices(pages: AsyncIterable<Device[]>, format: DeviceFormat): Readable {
  async function* lines(): AsyncGenerator<string> {
    if (format === 'csv') yield stringify([[...CSV_COLUMNS]]);
    for await (const page of pages) {
      yield format === 'csv' ? stringify(page.map(deviceToCsvRecord)) : page.map((d) => JSON.stringify(deviceToJson(d))).join('\n') + '\n';
    }
  }
  return Readable.from(lines());
}

export type { DeviceFilter };
