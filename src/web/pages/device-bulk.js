// The device list's bulk action bar: tag, untag, set location, set device type, decommission, save
// as a group and
// start a rollout, on the selected devices or on all devices matching the filter. Every change
// first asks the API how many devices it will touch (POST /api/v1/devices/bulk?dryRun=true) and
// runs only when the operator confirms that count.
import { api } from '../api.js';
import { errorBox, fmtNumber, h, mount } from '../util.js';

const SELECTION_KEY = 'orchestrator.selection';

/** The device ids the device list last handed to another page (a static group, a rollout). */
export const handedSelection = {
  set(ids) {
    window.sessionStorage.setItem(SELECTION_KEY, JSON.stringify(ids));
  },
  get() {
    try {
      const ids = JSON.parse(window.sessionStorage.getItem(SELECTION_KEY) ?? '[]');
      return Array.isArray(ids) ? ids.filter((id) => typeof id === 'string') : [];
    } catch {
      return [];
    }
  },
  clear() {
    window.sessionStorage.removeItem(SELECTION_KEY);
  },
};

const ACTIONS = {
  tag: { label: 'Tag', verb: 'Tag', past: 'Tagged' },
  untag: { label: 'Untag', verb: 'Remove tags from', past: 'Removed tags from' },
  'set-location': { label: 'Set location', verb: 'Set the location of', past: 'Set the location of' },
  'set-device-type': { label: 'Set device type', verb: 'Set the device type of', past: 'Set the device type of' },
  decommission: { label: 'Decommission', verb: 'Decommission', past: 'Decommissioned', danger: true },
};

const plural = (n) => `${fmtNumber(n)} device${n === 1 ? '' : 's'}`;

/** "ring=canary, site=7" as { ring: 'canary', site: '7' }; a pair without "=" is a problem. */
function parseTags(text) {
  const tags = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const at = part.search(/[=:]/);
    if (at <= 0) throw new Error(`"${part}" is not key=value`);
    tags[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  if (!Object.keys(tags).length) throw new Error('give at least one tag as key=value');
  return tags;
}

/**
 * selection(): { ids } for the checked devices, or { filter, total } for all matching the filter,
 * or null. onDone() after a change ran (the list reloads and the selection clears).
 */
export function bulkBar({ selection, onDone, onClear }) {
  const count = h('strong', { id: 'bulk-count' });
  const panel = h('div', { class: 'bulk-panel', id: 'bulk-panel', hidden: true });
  const status = h('div', { id: 'bulk-status' });
  const button = (key, label, onclick, cls = 'btn btn-sm') => h('button', { class: cls, type: 'button', dataset: { bulk: key }, onclick }, label);
  const bar = h(
    'div',
    { class: 'bulk-bar', id: 'bulk-bar', hidden: true },
    h('span', { class: 'bulk-selected' }, count, ' selected'),
    h(
      'div',
      { class: 'btn-group' },
      Object.entries(ACTIONS).map(([key, a]) => button(key, a.label, () => open(key), a.danger ? 'btn btn-sm btn-danger-ghost' : 'btn btn-sm')),
      button('group', 'Save as group', saveAsGroup),
      button('rollout', 'Start a rollout', startRollout, 'btn btn-sm btn-primary'),
      button('clear', 'Clear', () => onClear(), 'btn btn-sm btn-ghost'),
    ),
  );

  const body = () => {
    const s = selection();
    return s.ids ? { ids: s.ids } : { filter: s.filter };
  };

  function close() {
    panel.hidden = true;
    mount(panel);
  }

  /** The inputs one action needs; answers a reader of its body fields. */
  function inputsOf(action) {
    if (action === 'tag') {
      const input = h('input', { id: 'bulk-tags', placeholder: 'ring=canary, site=7', 'aria-label': 'Tags to set (key=value, comma-separated)' });
      return { el: h('label', null, 'Tags to set', input), read: () => ({ tags: parseTags(input.value) }), focus: input };
    }
    if (action === 'untag') {
      const input = h('input', { id: 'bulk-keys', placeholder: 'ring, site', 'aria-label': 'Tag keys to remove (comma-separated)' });
      return {
        el: h('label', null, 'Tag keys to remove', input),
        read: () => {
          const keys = input.value.split(',').map((k) => k.trim()).filter(Boolean);
          if (!keys.length) throw new Error('give at least one tag key');
          return { keys };
        },
        focus: input,
      };
    }
    if (action === 'set-location') {
      const input = h('input', { id: 'bulk-location', placeholder: 'empty clears it', 'aria-label': 'New location' });
      return { el: h('label', null, 'New location', input), read: () => ({ location: input.value.trim() || null }), focus: input };
    }
    if (action === 'set-device-type') {
      const input = h('input', { id: 'bulk-device-type', placeholder: 'rpi4; empty clears it', maxlength: 64, 'aria-label': 'New device type' });
      return { el: h('label', null, 'New device type', input), read: () => ({ deviceType: input.value.trim() || null }), focus: input };
    }
    return { el: h('p', { class: 'muted' }, 'Decommissioned devices get no further updates, every credential they have is revoked and their unfinished executions end. Their history stays.'), read: () => ({}) };
  }

  function open(action) {
    const a = ACTIONS[action];
    const inputs = inputsOf(action);
    const message = h('div', { class: 'bulk-confirm', id: 'bulk-confirm' });
    const review = h('button', { class: 'btn btn-sm btn-primary', type: 'submit', id: 'bulk-review' }, 'Review');
    const form = h(
      'form',
      {
        class: 'form-inline',
        onsubmit: async (event) => {
          event.preventDefault();
          let change;
          try {
            change = { action, ...inputs.read(), ...body() };
          } catch (error) {
            return mount(message, errorBox(error));
          }
          review.disabled = true;
          try {
            const plan = await api('POST', '/api/v1/devices/bulk', { query: { dryRun: 'true' }, body: change });
            const confirm = h(
              'button',
              {
                class: `btn btn-sm ${a.danger ? 'btn-danger' : 'btn-primary'}`,
                type: 'button',
                id: 'bulk-run',
                disabled: plan.count === 0,
                onclick: async () => {
                  confirm.disabled = true;
                  try {
                    const done = await api('POST', '/api/v1/devices/bulk', { body: change });
                    close();
                    mount(status, h('div', { class: 'alert alert-ok', role: 'status' }, `${a.past} ${plural(done.count)}.`));
                    onDone();
                  } catch (error) {
                    confirm.disabled = false;
                    mount(message, errorBox(error));
                  }
                },
              },
              `${a.label}: ${plural(plan.count)}`,
            );
            mount(message, h('div', { class: `alert${a.danger ? ' alert-error' : ''}`, dataset: { count: String(plan.count) } }, plan.count ? `${a.verb} ${plural(plan.count)}? ` : 'No device in service matches this selection. ', confirm, ' ', h('button', { class: 'btn btn-sm btn-ghost', type: 'button', onclick: close }, 'Cancel')));
          } catch (error) {
            mount(message, errorBox(error));
          } finally {
            review.disabled = false;
          }
        },
      },
      h('strong', { class: 'bulk-title' }, a.label),
      inputs.el,
      review,
      h('button', { class: 'btn btn-sm btn-ghost', type: 'button', onclick: close }, 'Cancel'),
    );
    mount(panel, form, message);
    panel.hidden = false;
    mount(status);
    inputs.focus?.focus();
  }

  function saveAsGroup() {
    const s = selection();
    if (s.ids) {
      handedSelection.set(s.ids);
      window.location.hash = '#/groups?from=selection';
    } else window.location.hash = `#/groups?${new URLSearchParams({ from: 'filter', ...s.filter })}`;
  }

  function startRollout() {
    const s = selection();
    if (s.ids) {
      handedSelection.set(s.ids);
      window.location.hash = '#/rollouts/new?from=selection';
    } else window.location.hash = `#/rollouts/new?${new URLSearchParams(s.filter)}`;
  }

  return {
    el: h('div', null, bar, panel, status),
    /** Shows the bar with the selection's size, or hides it. */
    update(n) {
      bar.hidden = n === 0;
      count.textContent = plural(n);
      if (n === 0) close();
    },
  };
}
