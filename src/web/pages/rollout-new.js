// Create a rollout: pick an artifact, describe the devices (the count updates as you type),
// choose a strategy and phases, then start it.
import { api } from '../api.js';
import { card, debounce, errorBox, fmtNumber, h, mount } from '../util.js';
import { filterForm } from './shared.js';

export function render(main) {
  const artifact = h('select', { id: 'rollout-artifact', required: true }, h('option', { value: '' }, 'Loading artifacts…'));
  const name = h('input', { id: 'rollout-name', placeholder: 'e.g. West stores firmware 2.4.1' });
  const matchCount = h('div', { class: 'match-count', id: 'match-count' }, '…');
  const strategy = h('select', { id: 'rollout-strategy' }, ['progressive', 'immediate', 'on-connect', 'scheduled'].map((s) => h('option', { value: s }, s)));
  const phases = h('input', { id: 'rollout-phases', value: '10,50,100', placeholder: '10,50,100' });
  const approval = h('input', { type: 'checkbox', id: 'rollout-approval' });
  const errorPct = h('input', { id: 'rollout-error-percent', type: 'number', min: 0, max: 100, value: 10 });
  const errorAction = h('select', { id: 'rollout-error-action' }, h('option', { value: 'pause' }, 'pause'), h('option', { value: 'abort' }, 'abort'));
  const concurrency = h('input', { id: 'rollout-concurrency', type: 'number', min: 1, placeholder: 'unlimited' });
  const status = h('div');

  const countMatches = debounce(async (filter) => {
    try {
      const { total } = await api('GET', '/api/v1/devices/count', { query: filter });
      mount(matchCount, h('strong', null, fmtNumber(total)), ` device${total === 1 ? '' : 's'} match`);
      matchCount.dataset.total = String(total);
    } catch (error) {
      mount(matchCount, errorBox(error));
    }
  }, 200);
  const filters = filterForm(countMatches);
  countMatches({});

  const phaseRow = h('label', null, 'Phases (cumulative %)', phases, h('span', { class: 'hint' }, 'e.g. 5,50,100'));
  const approvalRow = h('label', { class: 'check' }, approval, 'Require approval before each next phase');
  const syncStrategy = () => {
    phaseRow.hidden = strategy.value !== 'progressive';
    approvalRow.hidden = strategy.value !== 'progressive';
  };
  strategy.addEventListener('change', syncStrategy);

  const section = (title, ...fields) => h('div', { class: 'form-section' }, h('h3', null, title), h('div', { class: 'form-fields' }, fields));
  const form = h(
    'form',
    {
      class: 'form',
      id: 'rollout-form',
      onsubmit: async (event) => {
        event.preventDefault();
        const body = { name: name.value.trim(), artifactId: artifact.value, filter: filters.read(), strategy: strategy.value };
        if (strategy.value === 'progressive') {
          const list = phases.value.split(',').map((p) => p.trim()).filter(Boolean);
          // Approval holds a phase before the next one starts; the last phase has no next.
          body.phases = list.map((p, i) => ({ percent: Number(p), requireApproval: approval.checked && i < list.length - 1 }));
        }
        if (errorPct.value !== '') body.errorThreshold = { percent: Number(errorPct.value), action: errorAction.value };
        if (concurrency.value) body.maxConcurrency = Number(concurrency.value);
        if (body.filter.tag) body.filter.tag = [body.filter.tag];
        try {
          const rollout = await api('POST', '/api/v1/rollouts', { body });
          window.location.hash = `#/rollouts/${encodeURIComponent(rollout.id)}`;
        } catch (error) {
          mount(status, errorBox(error));
        }
      },
    },
    section('What', h('label', null, 'Artifact', artifact), h('label', null, 'Name', name)),
    section('Which devices', filters.el, matchCount),
    section('How', h('label', null, 'Strategy', strategy), phaseRow, approvalRow, h('div', { class: 'form-row' }, h('label', null, 'Stop when failures exceed (%)', errorPct), h('label', null, 'then', errorAction), h('label', null, 'Max concurrent deliveries', concurrency))),
    status,
    h('div', { class: 'form-actions' }, h('a', { class: 'btn', href: '#/rollouts' }, 'Cancel'), h('button', { class: 'btn btn-primary', type: 'submit', id: 'rollout-start' }, 'Start rollout')),
  );
  mount(main, card('New rollout', form));
  syncStrategy();

  api('GET', '/api/v1/artifacts', { query: { limit: 200 } })
    .then((result) => {
      const items = result.items ?? [];
      mount(artifact, items.length ? items.map((a) => h('option', { value: a.id }, `${a.name} ${a.version}${a.kind === 'image' ? ' (image)' : ''}`)) : h('option', { value: '' }, 'No artifacts: upload one first'));
    })
    .catch((error) => mount(status, errorBox(error)));
  return null;
}
