// DDI shapes and the feedback -> execution mapping, with feedback bodies as SWUpdate's suricatta
// writes them (id as a number, time as YYYYMMDDTHHMMSS, progress cnt/of, details).
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/index.js';
import { basePollBody, cancelBody, deploymentBody, feedbackEffect, formatSleep, parseFeedback } from './ddi.js';

const swupdate = (execution: string, finished: string, cnt: number, of: number, details: string[]) => ({ id: 7, time: '20261127T160000', status: { result: { progress: { cnt, of }, finished }, execution, details } });

describe('DDI responses', () => {
  it('formats the polling sleep as HH:MM:SS', () => {
    expect(formatSleep(60)).toBe('00:01:00');
    expect(formatSleep(3725)).toBe('01:02:05');
    expect(formatSleep(0)).toBe('00:00:01');
  });

  it('shows only the links that are relevant, deploymentBase winning over installedBase', () => {
    const base = 'http://h/DEFAULT/controller/v1/dev1';
    expect(basePollBody(base, 30, {})).toEqual({ config: { polling: { sleep: '00:00:30' } }, _links: {} });
    expect(basePollBody(base, 30, { deploymentActionId: 4, deploymentHash: 'abc', installedActionId: 3, configData: true })._links).toEqual({
      deploymentBase: { href: `${base}/deploymentBase/4?c=abc` },
      configData: { href: `${base}/configData` },
    });
    expect(basePollBody(base, 30, { cancelActionId: 5, installedActionId: 3 })._links).toEqual({
      cancelAction: { href: `${base}/cancelAction/5` },
      installedBase: { href: `${base}/installedBase/3` },
    });
  });

  it('writes deploymentBase with modes, window, chunk and artifact hashes and links', () => {
    const body = deploymentBody({
      actionId: 4,
      download: 'forced',
      update: 'attempt',
      maintenanceWindow: 'available',
      chunks: [{ part: 'os', name: 'fw', version: '2.0', artifacts: [{ filename: 'fw-2.0.swu', size: 10, sha256: 'a', sha1: 'b', md5: 'c', href: 'http://h/x' }] }],
    });
    expect(body).toEqual({
      id: '4',
      deployment: {
        download: 'forced',
        update: 'attempt',
        maintenanceWindow: 'available',
        chunks: [{ part: 'os', version: '2.0', name: 'fw', artifacts: [{ filename: 'fw-2.0.swu', hashes: { sha1: 'b', md5: 'c', sha256: 'a' }, size: 10, _links: { 'download-http': { href: 'http://h/x' }, 'md5sum-http': { href: 'http://h/x.MD5SUM' } } }] }],
      },
    });
    expect(cancelBody(5)).toEqual({ id: '5', cancelAction: { stopId: '5' } });
  });
});

describe('DDI feedback', () => {
  it('parses what SWUpdate sends', () => {
    expect(parseFeedback(swupdate('proceeding', 'none', 0, 1, ['Installing Update Chunk Artifacts.']))).toEqual({
      id: '7',
      execution: 'proceeding',
      finished: 'none',
      progress: { cnt: 0, of: 1 },
      details: ['Installing Update Chunk Artifacts.'],
    });
  });

  it('refuses bad values, naming each field', () => {
    const error = (() => {
      try {
        parseFeedback({ status: { execution: 'done', result: { finished: 'ok', progress: { cnt: -1 } }, details: [1] } });
      } catch (e) {
        return e as ValidationError;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect(error!.details.map((d) => d.path)).toEqual(['status.execution', 'status.result.finished', 'status.result.progress', 'status.details']);
  });

  it('maps SWUpdate progress onto downloading, verifying, then succeeded or failed', () => {
    const effect = (b: unknown, mode: string | null = 'forced') => feedbackEffect(parseFeedback(b), 'e1', mode);
    expect(effect(swupdate('proceeding', 'none', 0, 1, ['Installing Update Chunk Artifacts.']))).toEqual({ kind: 'report', report: { id: 'e1', state: 'downloading' } });
    expect(effect(swupdate('proceeding', 'none', 0, 0, ['log line']))).toEqual({ kind: 'report', report: { id: 'e1', state: 'downloading' } });
    expect(effect(swupdate('proceeding', 'none', 1, 1, ['All Chunks Installed.']))).toEqual({ kind: 'report', report: { id: 'e1', state: 'verifying' } });
    expect(effect(swupdate('downloaded', 'none', 0, 0, []))).toEqual({ kind: 'report', report: { id: 'e1', state: 'installing' } });
    expect(effect(swupdate('closed', 'success', 0, 0, ['Update Installed.']))).toEqual({ kind: 'report', report: { id: 'e1', state: 'succeeded' } });
    expect(effect(swupdate('closed', 'failure', 0, 1, ['ERROR : bad image', 'ERROR : hash']))).toEqual({
      kind: 'report',
      report: { id: 'e1', state: 'failed', error: 'the device reported failure: ERROR : bad image | ERROR : hash' },
    });
    expect(effect(swupdate('rejected', 'none', 0, 0, ['busy']))).toMatchObject({ report: { state: 'failed', error: 'the device rejected the update: busy' } });
    expect(effect(swupdate('canceled', 'success', 0, 0, []))).toEqual({ kind: 'cancel-confirmed' });
  });

  it('keeps the details whole within 64 KiB, and the reason from earlier feedback in the error', () => {
    const log = Array.from({ length: 400 }, (_, i) => `[step_${i}] : working`);
    expect(parseFeedback(swupdate('proceeding', 'none', 0, 0, log)).details).toEqual(log);
    const huge = parseFeedback(swupdate('proceeding', 'none', 0, 0, Array.from({ length: 4000 }, (_, i) => `[step_${i}] : ${'x'.repeat(60)}\u001b[0m`))).details;
    expect(Buffer.byteLength(huge.join('\n'))).toBeLessThanOrEqual(64 * 1024);
    expect(huge.at(-1)).toMatch(/^\[step_3999\] : x+\uFFFD\[0m$/);
    expect(huge[0]).toMatch(/earlier lines not kept/);
    // SWUpdate: its log came with a proceeding message, the close says only "No suitable .swu image found".
    const earlier = ['[check_hw_compatibility] : Hardware board Revision: 1.0', 'ERROR : SW not compatible with hardware', 'Image invalid or corrupted. Not installing ...', 'Waiting for requests...'];
    expect(feedbackEffect(parseFeedback(swupdate('closed', 'failure', 0, 1, ['No suitable .swu image found'])), 'e1', 'forced', earlier)).toMatchObject({
      report: { state: 'failed', error: 'the device reported failure: ERROR : SW not compatible with hardware | Image invalid or corrupted. Not installing ... | No suitable .swu image found' },
    });
  });

  it('does not take a close in answer to update=skip as an install', () => {
    expect(feedbackEffect(parseFeedback(swupdate('closed', 'success', 0, 0, ['Skipped Update.'])), 'e1', 'skip')).toEqual({ kind: 'note' });
  });
});
