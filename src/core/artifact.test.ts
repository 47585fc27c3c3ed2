import { describe, expect, it } from 'vitest';
import { artifactFieldProblem, parseImageRef } from './artifact.js';

describe('artifact fields', () => {
  it('accepts names and versions that are safe as file names', () => {
    expect(artifactFieldProblem('name', 'pos-firmware')).toBeNull();
    expect(artifactFieldProblem('version', '1.2.3-rc.1+build~5')).toBeNull();
  });
  it('refuses empty, slashes, leading dots and spaces', () => {
    expect(artifactFieldProblem('name', '')).toMatch(/required/);
    expect(artifactFieldProblem('name', '../etc')).toMatch(/must start/);
    expect(artifactFieldProblem('version', '1.0/2')).toMatch(/must start/);
    expect(artifactFieldProblem('version', '1 0')).toMatch(/must start/);
    expect(artifactFieldProblem('name', 42)).toMatch(/required/);
  });
});

describe('parseImageRef', () => {
  it('splits registry, repository, tag and digest', () => {
    const digest = 'sha256:' + 'ab'.repeat(32);
    expect(parseImageRef(`ghcr.io/acme/kiosk:2.1@${digest}`)).toEqual({ registry: 'ghcr.io', repository: 'acme/kiosk', tag: '2.1', digest });
    expect(parseImageRef('localhost:5000/app:latest')).toEqual({ registry: 'localhost:5000', repository: 'app', tag: 'latest', digest: null });
    expect(parseImageRef('library/nginx:1.27')).toEqual({ registry: null, repository: 'library/nginx', tag: '1.27', digest: null });
    expect(parseImageRef(`app@${digest}`).tag).toBeNull();
  });
  it('says what is wrong', () => {
    expect(() => parseImageRef('acme/kiosk')).toThrow(/needs a tag/);
    expect(() => parseImageRef('acme/Kiosk:1')).toThrow(/lower-case/);
    expect(() => parseImageRef('acme/kiosk:1@sha256:abc')).toThrow(/64/);
    expect(() => parseImageRef('acme/kiosk:-x')).toThrow(/tag/);
  });
});
