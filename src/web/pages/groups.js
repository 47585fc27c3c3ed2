// Saved groups: each with its live member count (the API counts at each read), a link to its
// devices in the device list, and Delete. Operators create a dynamic group from a filter (the
// count of devices it matches follows the filter) or a static one from the devices ticked in the
// device list (which hands them over, #/groups?from=selection).
import { api, canOperate } from '../api.js';
import { live } from '../live.js';
import { card, debounce, emptyState, errorBox, fmtAgo, fmtNumber, h, mount, throttle } from '../util.js';
import { handedSelection } from './device-bulk.js';
import { filterForm, filterFromQuery } from './shared.js';

const filterText = (filter) =>
  Object.entries(filter ?? {})
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)
    .join(' · ');

export function render(main, _params, ctx) {
  const list = h('div');
  const notice = h('div', { id: 'group-notice' });
  const from = ctx?.query?.get('from');
  let handed = from === 'selection' ? handedSelection.get() : [];

  const name = h('input', { id: 'group-name', placeholder: 'e.g. canary stores', maxlength: 128, required: true });
  const kind = h('select', { id: 'group-kind', 'aria-label': 'Kind' }, h('option', { value: 'dynamic', selected: !handed.length }, 'dynamic: whoever matches a filter'), h('option', { value: 'static', selected: handed.length > 0 }, 'static: these devices'));
  const matchCount = h('div', { class: 'match-count', id: 'group-match-count', 'aria-live': 'polite' }, 'Counting matching devices…');
  let counting = 0;
  const countMatches = debounce(async (filter) => {
    const mine = ++counting;
    try {
      const { total } = await api('GET', '/api/v1/devices/count', { query: filter });
      if (mine !== counting) return;
      mount(matchCount, h('strong', null, fmtNumber(total)), ` device${total === 1 ? '' : 's'} match now`);
      matchCount.dataset.total = String(total);
    } catch (error) {
      if (mine !== counting) return;
      delete matchCount.dataset.total;
      mount(matchCount, `No count: ${error.message}`);
    }
  }, 200);
  const initial = from === 'filter' ? filterFromQuery(ctx.query) : {};
  delete initial.group;
  const filters = filterForm(countMatches, initial, { withGroup: false });
  const dynamicPart = h('div', { class: 'form-fields' }, filters.el, matchCount);
  const staticPart = h('div', { class: 'selection-note', id: 'group-static-note' });
  const syncHanded = () =>
    mount(staticPart, h('span', null, handed.length ? [h('strong', null, `${fmtNumber(handed.length)} device${handed.length === 1 ? '' : 's'}`), ' ticked in the device list.'] : ['No devices handed over: tick them in the ', h('a', { href: '#/devices' }, 'device list'), ' and choose Save as group.']));
  syncHanded();
  const status = h('div', { id: 'group-form-status' });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', id: 'group-create' }, 'Create group');
  const syncKind = () => {
    dynamicPart.hidden = kind.value !== 'dynamic';
    staticPart.hidden = kind.value !== 'static';
    submit.disabled = kind.value === 'static' && !handed.length;
  };
  kind.addEventListener('change', syncKind);
  const form = h(
    'form',
    {
      class: 'form',
      id: 'group-form',
      onsubmit: async (event) => {
        event.preventDefault();
        const body = { name: name.value.trim(), kind: kind.value };
        if (kind.value === 'dynamic') {
          body.filter = filters.read();
          if (body.filter.tag) body.filter.tag = [body.filter.tag];
        } else body.devices = handed;
        submit.disabled = true;
        try {
          const group = await api('POST', '/api/v1/groups', { body });
          mount(status, h('div', { class: 'alert alert-ok', role: 'status' }, `Created ${group.kind} group ${group.name} with ${fmtNumber(group.members)} device${group.members === 1 ? '' : 's'}.`));
          form.reset();
          if (body.kind === 'static') {
            // The ticked devices are in their group now; another static group needs a new selection.
            handedSelection.clear();
            handed = [];
            syncHanded();
            kind.value = 'dynamic';
          }
          countMatches(filters.read());
          load();
        } catch (error) {
          mount(status, errorBox(new Error(`The group was not created: ${error.message}`)));
        } finally {
          syncKind();
        }
      },
    },
    h('div', { class: 'form-row' }, h('label', { for: 'group-name' }, 'Name', name), h('label', { for: 'group-kind' }, 'Kind', kind)),
    dynamicPart,
    staticPart,
    status,
    h('div', { class: 'form-actions' }, submit),
  );
  mount(main, notice, canOperate() ? card('New group', form) : null, card('Groups', list));
  syncKind();
  countMatches(filters.read());

  async function remove(group) {
    if (!window.confirm(`Delete group ${group.name}? Its ${fmtNumber(group.members)} devices stay.`)) return;
    try {
      await api('DELETE', `/api/v1/groups/${encodeURIComponent(group.id)}`);
      mount(notice, h('div', { class: 'alert alert-ok', role: 'status' }, `Deleted group ${group.name}.`));
    } catch (error) {
      mount(notice, errorBox(new Error(`Delete failed: ${error.message}`)));
    }
    load();
  }

  async function load() {
    try {
      const result = await api('GET', '/api/v1/groups', { query: { limit: 200 } });
      const items = result.items ?? [];
      mount(
        list,
        items.length
          ? h(
              'div',
              { class: 'table-wrap' },
              h(
                'table',
                { class: 'table', id: 'group-table' },
                h('thead', null, h('tr', null, ['Group', 'Kind', 'Members', 'Filter', 'Created', ''].map((c) => h('th', null, c)))),
                h(
                  'tbody',
                  null,
                  items.map((g) =>
                    h(
                      'tr',
                      { dataset: { group: g.id } },
                      h('td', null, h('strong', null, g.name), h('div', { class: 'muted small' }, g.tenant === 'DEFAULT' ? g.id : `${g.id} · tenant ${g.tenant}`)),
                      h('td', null, h('span', { class: 'tag' }, g.kind)),
                      h('td', { class: 'cell-members' }, h('a', { href: `#/devices?group=${encodeURIComponent(g.id)}`, title: 'Open its devices in the device list' }, fmtNumber(g.members))),
                      h('td', { class: 'group-filter' }, g.kind === 'dynamic' ? h('code', null, filterText(g.filter) || 'every device') : h('span', { class: 'muted' }, 'a list of devices')),
                      h('td', { class: 'muted' }, fmtAgo(g.createdAt)),
                      h('td', null, h('div', { class: 'btn-group' }, h('a', { class: 'btn btn-sm', href: `#/devices?group=${encodeURIComponent(g.id)}` }, 'Devices'), canOperate() ? h('button', { class: 'btn btn-sm btn-danger-ghost', type: 'button', dataset: { delete: g.id }, onclick: () => remove(g) }, 'Delete') : null)),
                    ),
                  ),
                ),
              ),
            )
          : emptyState('No groups yet.'),
      );
    } catch (error) {
      mount(list, errorBox(error));
    }
  }
  load();
  // Member counts are live: device changes move them.
  const refresh = throttle(load, 2000);
  live.focus({ types: ['device.*', 'group.*', 'devices.*'] });
  return live.subscribe((events, gap) => {
    if (gap || events.length) refresh();
  });
}
