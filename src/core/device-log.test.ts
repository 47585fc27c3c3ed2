import { describe, expect, it } from 'vitest';
import { failureSummary, storableLines } from './device-log.js';

// What the real clients sent in the end-to-end tests (shortened).
const MENDER = [
  '2026-12-02T04:47:58Z info Running Mender client version: 3.4.0+ds1-5+b1',
  '2026-12-02T04:47:58Z info State transition: mender-update-control [none] -> update-install [ArtifactInstall]',
  '2026-12-02T04:47:58Z info Output (stdout) from command "/usr/share/mender/modules/v3/script": checking the disk',
  '2026-12-02T04:47:58Z info Output (stderr) from command "/usr/share/mender/modules/v3/script": disk full: cannot install',
  '2026-12-02T04:47:58Z error Update module terminated abnormally: exit status 3',
  '2026-12-02T04:47:58Z info State transition: update-install [ArtifactInstall] -> update-error [ArtifactFailure]',
  '2026-12-02T04:47:58Z info State transition: cleanup [Error] -> update-status-report [none]',
];
const SWUPDATE = [
  '[start_suricatta] : Server initialized, entering suricatta main loop.',
  '[parse_hw_compatibility] : Accepted Hw Revision : 9.9',
  '[check_hw_compatibility] : Hardware board Revision: 1.0',
  'ERROR : SW not compatible with hardware',
  'Image invalid or corrupted. Not installing ...',
  '[network_initializer] : Main thread sleep again !',
  'Waiting for requests...',
];

describe('storableLines', () => {
  it('keeps every line of a log within the bound, each line made storable', () => {
    expect(storableLines(['a\u0000b', 'x'.repeat(3000)], { maxLine: 100 })).toEqual(['a\uFFFDb', 'x'.repeat(100)]);
    expect(storableLines(SWUPDATE)).toEqual(SWUPDATE);
  });
  it('keeps the end of a log over the bound and says how many lines it dropped', () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'y'.repeat(40)}`);
    const kept = storableLines(lines);
    expect(kept.join('\n').length).toBeLessThanOrEqual(64 * 1024);
    expect(kept.at(-1)).toBe(lines.at(-1));
    expect(kept[0]).toMatch(/^\[(\d+) earlier lines not kept: the log is bounded to 64 KiB\]$/);
    expect(Number(/\[(\d+)/.exec(kept[0]!)![1]) + kept.length - 1).toBe(5000);
  });
});

describe('failureSummary', () => {
  it('picks the lines that say why, without time stamps or state transitions', () => {
    expect(failureSummary(MENDER)).toBe('info Output (stderr) from command "/usr/share/mender/modules/v3/script": disk full: cannot install | error Update module terminated abnormally: exit status 3');
    expect(failureSummary(SWUPDATE, { conclusion: ['No suitable .swu image found'] })).toBe('ERROR : SW not compatible with hardware | Image invalid or corrupted. Not installing ... | No suitable .swu image found');
  });
  it('falls back to the last lines when none names a reason, and stays bounded', () => {
    expect(failureSummary(['one', 'two', 'three'], { maxLines: 2 })).toBe('two | three');
    expect(failureSummary([])).toBe('');
    const long = failureSummary(Array.from({ length: 50 }, (_, i) => `error ${i} ${'z'.repeat(2000)}`));
    expect(long.length).toBeLessThanOrEqual(1500);
    expect(long.split(' | ')).toHaveLength(5);
    expect(long).toMatch(/^error 45 /);
  });
});
