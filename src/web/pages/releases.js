// Releases: each with its version, its components and how many rollouts use it; a row opens the
// release (pages/release.js). Releases are made with `orchestrator releases create` or the API.
import { api } from '../api.js';
import { card, emptyState, errorBox, fmtAgo, h, mount } from '../util.js';

/** The release's components in its own order, once each ("os, app"). */
export const componentsOf = (release) => [...new Set(release.artifacts.map((a) => a.component))];

export function render(main) {
  const list = h('div');
  mount(main, card('Releases', list));

  async function load() {
    try {
      const result = await api('GET', '/api/v1/releases', { query: { limit: 200 } });
      const items = result.items ?? [];
      mount(
        list,
        items.length
          ? h(
              'div',
              { class: 'table-wrap' },
              h(
                'table',
                { class: 'table', id: 'release-table' },
                h('thead', null, h('tr', null, ['Release', 'Version', 'Components', 'Artifacts', 'Created'].map((c) => h('th', null, c)))),
                h(
                  'tbody',
                  null,
                  items.map((r) =>
                    h(
                      'tr',
                      { class: 'clickable', dataset: { release: r.id }, onclick: () => (window.location.hash = `#/releases/${encodeURIComponent(r.id)}`) },
                      h('td', null, h('a', { href: `#/releases/${encodeURIComponent(r.id)}` }, h('strong', null, r.name)), h('div', { class: 'muted small' }, r.id)),
                      h('td', null, r.version),
                      h('td', null, componentsOf(r).map((c) => h('span', { class: 'tag' }, c))),
                      h('td', null, String(r.artifacts.length)),
                      h('td', { class: 'muted' }, fmtAgo(r.createdAt), h('div', { class: 'small' }, r.createdBy)),
                    ),
                  ),
                ),
              ),
            )
          : emptyState(h('span', null, 'No releases yet. Create one with ', h('code', null, 'orchestrator releases create --name pos --version 2.4.1 a.swu b.mender'), '.')),
      );
      if (result.total > items.length) list.append(h('div', { class: 'muted small' }, `The newest ${items.length} of ${result.total} releases.`));
    } catch (error) {
      mount(list, errorBox(error));
    }
  }
  load();
  return null;
}
