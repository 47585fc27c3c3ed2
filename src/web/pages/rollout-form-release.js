// What a rollout delivers: one release (each device gets the artifacts whose match fits it) or one
// artifact. For a release the form shows the dry-run plan (POST /api/v1/rollouts?dryRun=true, the
// same matcher the start uses): devices per artifact, devices skipped with the reason, the total.
// It refreshes when the release or the target filter changes; only the newest answer is shown.
import { api } from '../api.js';
import { debounce, errorBox, fmtNumber, h, mount } from '../util.js';
import { select } from './form-fields.js';

const plural = (n) => `${fmtNumber(n)} device${n === 1 ? '' : 's'}`;

/** errors: the form's fieldErrors; labelled: form-fields' labelled; initial: { releaseId }. */
export function whatSection(errors, labelled, { releaseId } = {}) {
  const source = select('rollout-source', [['artifact', 'one artifact'], ['release', 'a release (an artifact per device type and protocol)']], releaseId ? 'release' : 'artifact');
  const artifact = h('select', { id: 'rollout-artifact', required: true }, h('option', { value: '' }, 'Loading artifacts…'));
  const release = h('select', { id: 'rollout-release' }, h('option', { value: '' }, 'Loading releases…'));
  const plan = h('div', { class: 'plan', id: 'rollout-plan', 'aria-live': 'polite' });
  const artifactRow = labelled(errors, 'artifactId', 'Artifact', artifact);
  const releaseRow = labelled(errors, 'releaseId', 'Release', release);
  const artifacts = new Map();
  const releases = new Map();
  let filter = {};
  let planning = 0;

  const artifactName = (id) => {
    const a = artifacts.get(id);
    return a ? `${a.name} ${a.version}` : id;
  };

  const refresh = debounce(async () => {
    const mine = ++planning;
    if (source.value !== 'release' || !release.value) {
      mount(plan);
      delete plan.dataset.total;
      return;
    }
    mount(plan, h('div', { class: 'muted' }, 'Planning…'));
    try {
      const answer = await api('POST', '/api/v1/rollouts', { query: { dryRun: 'true' }, body: { releaseId: release.value, filter } });
      if (mine !== planning) return;
      // Names of artifacts the list did not hold (more than its first page).
      const unknown = Object.keys(answer.byArtifact).filter((id) => !artifacts.has(id));
      await Promise.all(unknown.map((id) => api('GET', `/api/v1/artifacts/${encodeURIComponent(id)}`).then((a) => artifacts.set(id, a)).catch(() => {})));
      if (mine !== planning) return;
      const parts = releases.get(release.value)?.artifacts ?? [];
      const componentOf = (id) => parts.find((p) => p.artifactId === id)?.component ?? '—';
      const skipped = answer.skipped.reduce((n, s) => n + s.devices, 0);
      plan.dataset.total = String(answer.total);
      mount(
        plan,
        h('div', { class: 'plan-total', id: 'plan-total' }, h('strong', null, plural(answer.total)), ' targeted', skipped ? ` · ${plural(skipped)} skipped` : ''),
        h(
          'table',
          { class: 'table table-flat', id: 'plan-table' },
          h('thead', null, h('tr', null, ['Artifact', 'Component', 'Devices'].map((c) => h('th', null, c)))),
          h(
            'tbody',
            null,
            Object.entries(answer.byArtifact).map(([id, n]) => h('tr', { dataset: { artifact: id } }, h('td', null, artifactName(id)), h('td', null, h('span', { class: 'tag' }, componentOf(id))), h('td', null, fmtNumber(n)))),
            answer.skipped.map((s) => h('tr', { class: 'plan-skipped' }, h('td', { colspan: 2 }, `Skipped: ${s.reason}`), h('td', null, fmtNumber(s.devices)))),
            !Object.keys(answer.byArtifact).length && !answer.skipped.length ? h('tr', null, h('td', { colspan: 3, class: 'muted' }, 'No device matches the filter.')) : null,
          ),
        ),
      );
    } catch (error) {
      if (mine !== planning) return;
      delete plan.dataset.total;
      mount(plan, errorBox(new Error(`No plan: ${error.message}`)));
    }
  }, 200);

  const sync = () => {
    artifactRow.hidden = source.value !== 'artifact';
    releaseRow.hidden = source.value !== 'release';
    refresh();
  };
  source.addEventListener('change', sync);
  release.addEventListener('change', refresh);

  const loaded = Promise.all([
    api('GET', '/api/v1/artifacts', { query: { limit: 200 } }).then((result) => {
      const items = result.items ?? [];
      for (const a of items) artifacts.set(a.id, a);
      mount(artifact, items.length ? items.map((a) => h('option', { value: a.id }, `${a.name} ${a.version}${a.kind === 'image' ? ' (image)' : ''}`)) : h('option', { value: '' }, 'No artifacts: upload one first'));
    }),
    api('GET', '/api/v1/releases', { query: { limit: 200 } }).then((result) => {
      const items = result.items ?? [];
      for (const r of items) releases.set(r.id, r);
      mount(release, items.length ? items.map((r) => h('option', { value: r.id, selected: r.id === releaseId }, `${r.name} ${r.version} (${[...new Set(r.artifacts.map((a) => a.component))].join(', ')})`)) : h('option', { value: '' }, 'No releases: create one first'));
    }),
  ]).then(sync);
  sync();

  return {
    rows: [labelled(errors, null, 'Roll out', source), artifactRow, releaseRow],
    plan,
    loaded,
    /** The target filter changed: plan again. */
    setFilter(next) {
      filter = next;
      refresh();
    },
    /** artifactId or releaseId for the body. */
    read: () => (source.value === 'release' ? { releaseId: release.value } : { artifactId: artifact.value }),
  };
}
