// Registry webhook policies: the list, a create form for operators, and "which policies would
// this image trigger".
import { api, canOperate } from '../api.js';
import { DEFAULT_STRATEGY, PHASED_STRATEGY } from '../strategies.js';
import { card, emptyState, errorBox, fmtAgo, h, mount, pill } from '../util.js';

export function render(main) {
  const list = h('div');
  const testResult = h('div');
  const image = h('input', { id: 'policy-test-image', placeholder: 'ghcr.io/acme/pos-app:v2.4.1' });
  const tester = h(
    'form',
    {
      class: 'form-inline',
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const result = await api('POST', '/api/v1/policies/test', { body: { image: image.value.trim() } });
          mount(testResult, result.matches.length ? h('div', { class: 'alert alert-ok' }, `Would trigger: ${result.matches.map((p) => p.name).join(', ')}`) : h('div', { class: 'alert' }, 'No policy matches this image.'));
        } catch (error) {
          mount(testResult, errorBox(error));
        }
      },
    },
    h('label', null, 'Image', image),
    h('button', { class: 'btn', type: 'submit' }, 'Test'),
  );

  const name = h('input', { id: 'policy-name', placeholder: 'west-pos', required: true });
  const glob = h('input', { id: 'policy-image', placeholder: 'ghcr.io/acme/*:v*', required: true });
  const location = h('input', { id: 'policy-location', placeholder: 'any' });
  const group = h('select', { id: 'policy-group' }, h('option', { value: '' }, 'any'));
  const phases = h('input', { id: 'policy-phases', value: '10,50,100' });
  const createStatus = h('div');
  const create = h(
    'form',
    {
      class: 'form-inline',
      onsubmit: async (event) => {
        event.preventDefault();
        const filter = {};
        if (location.value.trim()) filter.location = location.value.trim();
        if (group.value) filter.group = group.value;
        const body = { name: name.value.trim(), image: glob.value.trim(), filter, template: { strategy: PHASED_STRATEGY, phases: phases.value.split(',').map((p) => ({ percent: Number(p.trim()) })) } };
        try {
          await api('POST', '/api/v1/policies', { body });
          mount(createStatus);
          create.reset();
          load();
        } catch (error) {
          mount(createStatus, errorBox(error));
        }
      },
    },
    h('label', null, 'Name', name),
    h('label', null, 'Image glob', glob),
    h('label', null, 'Location', location),
    h('label', null, 'Group', group),
    h('label', null, 'Phases %', phases),
    h('button', { class: 'btn btn-primary', type: 'submit' }, 'Create policy'),
  );

  mount(main, canOperate() ? card('New policy', [create, createStatus]) : null, card('Policies', list), card('Test an image', [tester, testResult]));
  // A policy may target a saved group: its rollouts take whoever is in it when the image arrives.
  // The list shows a group by its name where the group is known.
  const groupNames = new Map();
  api('GET', '/api/v1/groups', { query: { limit: 200 } })
    .then((result) => {
      for (const g of result.items ?? []) groupNames.set(g.id, g.name);
      mount(group, h('option', { value: '' }, 'any'), (result.items ?? []).map((g) => h('option', { value: g.id }, `${g.name} (${g.kind})`)));
      if (groupNames.size) load();
    })
    .catch((error) => mount(createStatus, errorBox(new Error(`Groups not loaded: ${error.message}`))));

  async function load() {
    try {
      const { items } = await api('GET', '/api/v1/policies');
      mount(
        list,
        items.length
          ? h(
              'div',
              { class: 'table-wrap' },
              h(
                'table',
                { class: 'table' },
                h('thead', null, h('tr', null, ['Name', 'Image glob', 'Devices', 'Rollout', 'State', 'Created', ''].map((c) => h('th', null, c)))),
                h(
                  'tbody',
                  null,
                  items.map((p) =>
                    h(
                      'tr',
                      null,
                      h('td', null, h('strong', null, p.name)),
                      h('td', null, h('code', null, p.image)),
                      h('td', null, Object.keys(p.filter).length ? Object.entries(p.filter).map(([k, v]) => h('span', { class: 'tag', title: k === 'group' ? String(v) : undefined }, `${k}:${k === 'group' ? (groupNames.get(v) ?? v) : v}`)) : h('span', { class: 'muted' }, 'all')),
                      h('td', null, p.template.strategy ?? DEFAULT_STRATEGY, p.template.phases ? h('span', { class: 'muted' }, ` · ${p.template.phases.map((x) => x.percent ?? x.count).join('/')}`) : null),
                      h('td', null, pill(p.enabled ? 'enabled' : 'disabled')),
                      h('td', { class: 'muted' }, fmtAgo(p.createdAt)),
                      h('td', null, canOperate() ? h('button', { class: 'btn btn-sm btn-danger-ghost', onclick: async () => { if (window.confirm(`Remove policy ${p.name}?`)) { await api('DELETE', `/api/v1/policies/${encodeURIComponent(p.id)}`); load(); } } }, 'Remove') : null),
                    ),
                  ),
                ),
              ),
            )
          : emptyState('No policies: registry pushes start no rollout.'),
      );
    } catch (error) {
      mount(list, errorBox(error));
    }
  }
  load();
  return null;
}
