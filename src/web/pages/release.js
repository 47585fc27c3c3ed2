// One release: its components in order, each artifact (name, version, SHA-256) with the devices it
// matches (protocol, device type glob), and where it is deployed: the rollouts of this release
// (GET /api/v1/rollouts?releaseId=) with their status and counts, live.
import { api, canOperate } from '../api.js';
import { stacked } from '../charts.js';
import { live } from '../live.js';
import { card, emptyState, errorBox, fmtAgo, fmtNumber, fmtTime, h, mount, pill, throttle } from '../util.js';
import { partsOf, progressText } from './rollout-counts.js';
import { componentsOf } from './releases.js';

const PROTOCOLS = { agent: 'agent (pull)', hawkbit: 'hawkBit', mender: 'Mender', http: 'push over HTTP', ssh: 'push over SSH' };
const field = (label, value) => h('div', { class: 'field' }, h('dt', null, label), h('dd', null, value ?? '—'));

function matchCells(match) {
  return [
    h('td', { class: 'cell-match-protocol' }, match.protocol?.length ? match.protocol.map((p) => h('span', { class: 'tag' }, PROTOCOLS[p] ?? p)) : h('span', { class: 'muted' }, 'any')),
    h('td', { class: 'cell-match-type' }, match.deviceType ? h('code', null, match.deviceType) : h('span', { class: 'muted' }, 'any device')),
  ];
}

export function render(main, [id], ctx) {
  const head = h('div');
  const parts = h('div');
  const deployed = h('div');
  const notice = h('div', { id: 'release-notice' });
  mount(main, notice, head, card('Components and artifacts', parts), card('Where it is deployed', deployed));

  async function loadRelease() {
    try {
      const release = await api('GET', `/api/v1/releases/${encodeURIComponent(id)}`);
      ctx.setTitle(`Release ${release.name} ${release.version}`);
      // Each artifact once (a release holds at most a few dozen); one that is gone shows its id.
      const ids = [...new Set(release.artifacts.map((a) => a.artifactId))];
      const found = await Promise.all(ids.map((a) => api('GET', `/api/v1/artifacts/${encodeURIComponent(a)}`).catch(() => null)));
      const artifacts = new Map(ids.map((a, i) => [a, found[i]]));
      mount(
        head,
        card(
          `${release.name} ${release.version}`,
          h('dl', { class: 'fields', id: 'release-facts' }, field('Release id', h('code', null, release.id)), field('Components', componentsOf(release).join(' → ')), field('Artifacts', String(release.artifacts.length)), field('Created', fmtTime(release.createdAt)), field('Created by', release.createdBy)),
          [
            h('a', { class: 'btn btn-sm', href: '#/releases' }, '← All releases'),
            canOperate() ? h('button', { class: 'btn btn-sm btn-danger-ghost', type: 'button', id: 'delete-release', onclick: () => remove(release) }, 'Delete') : null,
            canOperate() ? h('a', { class: 'btn btn-sm btn-primary', id: 'roll-out-release', href: `#/rollouts/new?releaseId=${encodeURIComponent(release.id)}` }, 'Roll out this release') : null,
          ],
        ),
      );
      mount(
        parts,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'table', id: 'release-artifacts' },
            h('thead', null, h('tr', null, ['#', 'Component', 'Artifact', 'Version', 'SHA-256', 'Protocol', 'Device type'].map((c) => h('th', null, c)))),
            h(
              'tbody',
              null,
              [...release.artifacts]
                .sort((a, b) => a.position - b.position)
                .map((a) => {
                  const artifact = artifacts.get(a.artifactId);
                  return h(
                    'tr',
                    { dataset: { artifact: a.artifactId } },
                    h('td', { class: 'muted' }, String(a.position + 1)),
                    h('td', null, h('span', { class: 'tag' }, a.component)),
                    h('td', null, artifact ? h('strong', null, artifact.name) : h('code', { class: 'muted' }, a.artifactId)),
                    h('td', null, artifact?.version ?? '—'),
                    h('td', null, artifact?.sha256 ? h('code', { title: artifact.sha256 }, `${artifact.sha256.slice(0, 12)}…`) : artifact?.kind === 'image' ? h('span', { class: 'tag', title: artifact.imageRef }, 'image') : '—'),
                    matchCells(a.match),
                  );
                }),
            ),
          ),
        ),
        h('p', { class: 'muted small' }, 'A device gets, for each component, the first artifact whose protocol and device type match it; a device nothing matches is skipped with the reason.'),
      );
    } catch (error) {
      mount(head, errorBox(error));
      mount(parts);
    }
  }

  // The API refuses (409, with the reason) while a rollout that has not finished uses the release.
  async function remove(release) {
    if (!window.confirm(`Delete release ${release.name} ${release.version}? Its artifacts stay.`)) return;
    try {
      await api('DELETE', `/api/v1/releases/${encodeURIComponent(release.id)}`);
      window.location.hash = '#/releases';
    } catch (error) {
      mount(notice, errorBox(new Error(`Not deleted: ${error.message}`)));
    }
  }

  async function loadRollouts() {
    try {
      const result = await api('GET', '/api/v1/rollouts', { query: { releaseId: id, limit: 100 } });
      const items = result.items ?? [];
      mount(
        deployed,
        items.length
          ? h(
              'div',
              { class: 'table-wrap' },
              h(
                'table',
                { class: 'table', id: 'release-rollouts' },
                h('thead', null, h('tr', null, ['Rollout', 'Status', 'Progress', 'Devices', 'Created'].map((c) => h('th', null, c)))),
                h(
                  'tbody',
                  null,
                  items.map((r) => {
                    const bar = partsOf(r.counts, r.progress.total);
                    return h(
                      'tr',
                      { class: 'clickable', dataset: { rollout: r.id }, onclick: () => (window.location.hash = `#/rollouts/${encodeURIComponent(r.id)}`) },
                      h('td', null, h('a', { href: `#/rollouts/${encodeURIComponent(r.id)}` }, r.name || r.id.slice(0, 8)), h('div', { class: 'muted small' }, r.id)),
                      h('td', null, pill(r.status)),
                      h('td', { class: 'cell-progress' }, stacked(bar.parts, bar.total), h('div', { class: 'muted small progress-text' }, bar.total ? progressText(r) : '—')),
                      h('td', null, fmtNumber(bar.total)),
                      h('td', { class: 'muted' }, fmtAgo(r.createdAt)),
                    );
                  }),
                ),
              ),
            )
          : emptyState('No rollout of this release yet.'),
      );
      if (result.total > items.length) deployed.append(h('div', { class: 'muted small' }, `The newest ${items.length} of ${result.total} rollouts.`));
    } catch (error) {
      mount(deployed, errorBox(error));
    }
  }

  loadRelease();
  loadRollouts();
  const refresh = throttle(loadRollouts, 1000);
  live.focus({ types: ['rollout.*', 'execution.*'] });
  return live.subscribe(() => refresh());
}
