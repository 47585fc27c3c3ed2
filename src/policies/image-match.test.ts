// Pure rules of policy matching and registry payload reading.
import { describe, expect, it } from 'vitest';
import { imageMatches, imagePatternProblem } from './image-match.js';
import { parseDockerHub, parseGhcr, redactPayload } from './registry-payload.js';

describe('imageMatches', () => {
  it.each([
    ['acme/*', 'docker.io/acme/app:1.0', true],
    ['acme/*', 'acme/app:1.0', true],
    ['acme/*', 'acme/team/app:1.0', false],
    ['acme/**', 'acme/team/app:1.0', true],
    ['ghcr.io/acme/*:v*', 'ghcr.io/acme/app:v2', true],
    ['ghcr.io/acme/*:v*', 'ghcr.io/acme/app:latest', false],
    ['ghcr.io/acme/*:v*', 'docker.io/acme/app:v2', false],
    ['nginx', 'docker.io/library/nginx:1.27', true],
    ['*:latest', 'nginx:latest', true],
    // No registry host in the glob: Docker Hub only.
    ['acme/*', 'ghcr.io/acme/app:1.0', false],
    ['acme/*', 'evil.example.com/acme/app:1.0', false],
    ['nginx', 'ghcr.io/library/nginx:1', false],
    ['*:latest', 'ghcr.io/app:latest', false],
    // A wildcard first segment stands for any registry.
    ['*/acme/*', 'ghcr.io/acme/app:1.0', true],
    ['**/app', 'evil.example.com/acme/app:1.0', true],
  ])('%s vs %s -> %s', (pattern, ref, expected) => {
    expect(imageMatches(pattern, ref)).toBe(expected);
  });

  it('refuses empty or spaced patterns', () => {
    expect(imagePatternProblem('')).toMatch(/required/);
    expect(imagePatternProblem('a b')).toMatch(/spaces/);
    expect(imagePatternProblem('acme/*')).toBeNull();
  });
});

describe('registry payloads', () => {
  it('reads Docker Hub pushes and says what is missing', () => {
    expect(parseDockerHub({ push_data: { tag: '1.2', pusher: 'ci' }, repository: { repo_name: 'Acme/App' } })).toMatchObject({ imageRef: 'docker.io/acme/app:1.2', tag: '1.2', pusher: 'ci' });
    expect(() => parseDockerHub({ push_data: {}, repository: { repo_name: 'a/b' } })).toThrow(/push_data.tag/);
    expect(() => parseDockerHub({ push_data: { tag: '1' }, repository: { repo_name: 'evil.example.com/acme' } })).toThrow(/not a Docker Hub repository/);
  });

  it('reads GHCR container versions and ignores other package types', () => {
    const digest = `sha256:${'d'.repeat(64)}`;
    const body = { package: { name: 'app', package_type: 'CONTAINER', owner: { login: 'Acme' }, package_version: { version: digest, container_metadata: { tag: { name: 'v1', digest } } } } };
    expect(parseGhcr(body)).toMatchObject({ imageRef: `ghcr.io/acme/app:v1@${digest}`, digest });
    expect(parseGhcr({ package: { name: 'lib', package_type: 'npm', owner: { login: 'acme' } } })).toBeNull();
    expect(() => parseGhcr({})).toThrow(/package is missing/);
  });

  it('redacts secret-looking keys at any depth', () => {
    expect(redactPayload({ a: { token: 'x', list: [{ password: 'p', ok: 1 }] }, secret: 's' })).toEqual({ a: { token: '[redacted]', list: [{ password: '[redacted]', ok: 1 }] }, secret: '[redacted]' });
  });
});
