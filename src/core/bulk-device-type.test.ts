// The bulk set-device-type change as a pure rule: a device type by the device field's own pattern,
// or null to clear it; anything else, a missing one, or a device type on another action is refused
// naming the field.
import { describe, expect, it } from 'vitest';
import { validateBulkRequest } from './bulk.js';
import { ValidationError } from './errors.js';

const paths = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).details.map((d) => d.path ?? '');
  }
  throw new Error('expected a ValidationError');
};

describe('bulk set-device-type', () => {
  it('takes a device type or null', () => {
    expect(validateBulkRequest({ action: 'set-device-type', ids: ['a'], deviceType: 'rpi4' }).change).toEqual({ action: 'set-device-type', deviceType: 'rpi4' });
    expect(validateBulkRequest({ action: 'set-device-type', group: 'g', deviceType: 'imx8mm:rev/b+1' }).change).toEqual({ action: 'set-device-type', deviceType: 'imx8mm:rev/b+1' });
    expect(validateBulkRequest({ action: 'set-device-type', filter: { deviceType: 'rpi3' }, deviceType: null }).change).toEqual({ action: 'set-device-type', deviceType: null });
  });

  it('refuses a missing, malformed or misplaced device type', () => {
    expect(paths(() => validateBulkRequest({ action: 'set-device-type', ids: ['a'] }))).toEqual(['deviceType']);
    for (const deviceType of ['', 'rpi*', '-rpi', 'x'.repeat(65), 'a b', 7, true, ['rpi4']]) expect(paths(() => validateBulkRequest({ action: 'set-device-type', ids: ['a'], deviceType }))).toEqual(['deviceType']);
    expect(paths(() => validateBulkRequest({ action: 'set-location', ids: ['a'], location: 'x', deviceType: 'rpi4' }))).toEqual(['deviceType']);
    expect(paths(() => validateBulkRequest({ action: 'set-device-type', ids: ['a'], deviceType: 'rpi4', tags: { a: 'b' } }))).toEqual(['tags']);
  });
});
