// Which hawkBit controller attribute is the device type: the first present of a configurable list
// (ORCHESTRATOR_HAWKBIT_DEVICE_TYPE_ATTRIBUTES), by default the keys SWUpdate setups send.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { DEFAULT_DEVICE_TYPE_ATTRIBUTES, deviceTypeOf } from './hawkbit.service.js';

describe('hawkBit device type attribute', () => {
  it('takes the first present attribute of the list that holds a device type', () => {
    expect(deviceTypeOf({ serial: 'SN1', hwRevision: 'rev-c', board: 'pos-a' }, DEFAULT_DEVICE_TYPE_ATTRIBUTES)).toBe('rev-c');
    expect(deviceTypeOf({ board: 'pos-a' }, DEFAULT_DEVICE_TYPE_ATTRIBUTES)).toBe('pos-a');
    expect(deviceTypeOf({ hwRevision: 'not one!', board: 'pos-a' }, DEFAULT_DEVICE_TYPE_ATTRIBUTES)).toBe('pos-a');
    expect(deviceTypeOf({ serial: 'SN1' }, DEFAULT_DEVICE_TYPE_ATTRIBUTES)).toBeNull();
  });

  it('reads another list from ORCHESTRATOR_HAWKBIT_DEVICE_TYPE_ATTRIBUTES', () => {
    const config = loadConfig({}, { ORCHESTRATOR_HAWKBIT_DEVICE_TYPE_ATTRIBUTES: 'hwboard, hwrevision' });
    expect(config.hawkbitDeviceTypeAttributes).toEqual(['hwboard', 'hwrevision']);
    expect(deviceTypeOf({ board: 'pos-a', hwrevision: '1.0' }, config.hawkbitDeviceTypeAttributes!)).toBe('1.0');
    expect(loadConfig({}, {}).hawkbitDeviceTypeAttributes).toBeUndefined();
  });
});
