// Create a rollout with every field the API takes: a release (with its dry-run plan) or an
// artifact, and devices (the count updates as you type; devices ticked in the device list arrive
// as ?from=selection, a filter as its keys), strategy and phases (success threshold, soak, approval each), error threshold and action,
// start time and maintenance window, concurrency, rate limit with growth, retries, continuous.
// The API validates; its messages appear beside the fields they name and nothing typed is lost.
import { api } from '../api.js';
import { fieldErrors } from '../form-errors.js';
import { STRATEGIES } from '../strategies.js';
import { card, debounce, errorBox, fmtNumber, h, mount } from '../util.js';
import { checkbox, labelled, numberInput, readNumber, select } from './form-fields.js';
import { phaseEditor } from './rollout-form-phases.js';
import { paceSection, startSection, windowSection } from './rollout-form-timing.js';
import { whatSection } from './rollout-form-release.js';
import { handedSelection } from './device-bulk.js';
import { filterForm, filterFromQuery } from './shared.js';

// The server's strategy table (core/strategy.ts), the suggested one first.
const NAMES = Object.keys(STRATEGIES).sort((a, b) => Number(STRATEGIES[b].suggested) - Number(STRATEGIES[a].suggested));
const CHOICES = NAMES.map((name) => [name, `${name}: ${STRATEGIES[name].summary}`]);
const phased = (name) => STRATEGIES[name]?.phases === 'several';

export function render(main, _params, ctx) {
  const errors = fieldErrors();
  const what = whatSection(errors, labelled, { releaseId: ctx?.query?.get('releaseId') ?? undefined });
  // Devices ticked in the device list: the rollout targets exactly those (filter.ids).
  let ids = ctx?.query?.get('from') === 'selection' ? handedSelection.get() : [];
  const name = h('input', { id: 'rollout-name', placeholder: 'e.g. West stores firmware 2.4.1', maxlength: 200 });
  const matchCount = h('div', { class: 'match-count', id: 'match-count', 'aria-live': 'polite' }, '…');
  const strategy = select('rollout-strategy', CHOICES, NAMES[0]);
  const phases = phaseEditor(errors);
  const errorPct = numberInput('rollout-error-percent', { value: 10, min: 0, placeholder: 'none' });
  const errorAction = select('rollout-error-action', [['pause', 'pause the rollout'], ['abort', 'abort the rollout']], 'pause');
  const continuous = checkbox(errors, 'continuous', 'rollout-continuous', 'Continuous: devices that match later join too', { hint: 'Until you close the rollout.' });
  const start = startSection(errors);
  const when = windowSection(errors);
  const pace = paceSection(errors);
  const summary = h('div', { id: 'rollout-form-errors' });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', id: 'rollout-start' }, 'Start rollout');

  // Only the newest count is shown: an answer to an older filter that arrives late is dropped.
  let counting = 0;
  const countMatches = debounce(async (typed) => {
    const filter = typed;
    what.setFilter(bodyFilter(typed));
    const mine = ++counting;
    try {
      // Ticked devices are too many for a query string: the dry run counts them (its total is the
      // devices the rollout targets, whatever it delivers).
      const { total } = ids.length ? await api('POST', '/api/v1/rollouts', { query: { dryRun: 'true' }, body: { ...what.read(), filter: bodyFilter(typed) } }) : await api('GET', '/api/v1/devices/count', { query: filter });
      if (mine !== counting) return;
      mount(matchCount, h('strong', null, fmtNumber(total)), ` device${total === 1 ? '' : 's'} match`);
      matchCount.dataset.total = String(total);
      matchCount.classList.remove('match-count-error');
    } catch (error) {
      if (mine !== counting) return;
      delete matchCount.dataset.total;
      matchCount.classList.add('match-count-error');
      mount(matchCount, `No count: ${error.message}`);
    }
  }, 200);
  /** The filter as the API's body takes it: a tag is a list, ticked devices are ids. */
  const bodyFilter = (typed) => {
    const filter = { ...typed };
    if (filter.tag) filter.tag = [filter.tag];
    if (ids.length) filter.ids = ids;
    return filter;
  };
  const initial = filterFromQuery(ctx?.query);
  const filters = filterForm(countMatches, initial);
  const filterError = errors.register('filter', filters.fields.q);
  for (const [key, el] of Object.entries(filters.fields)) errors.bind(`filter.${key}`, filterError, el);
  const selectionNote = h('div', { class: 'selection-note', id: 'rollout-selection', hidden: !ids.length });
  if (ids.length) {
    mount(
      selectionNote,
      h('span', null, h('strong', null, fmtNumber(ids.length)), ` device${ids.length === 1 ? '' : 's'} ticked in the device list (the filters below narrow them further).`),
      h('button', { class: 'btn btn-sm', type: 'button', onclick: () => { ids = []; selectionNote.hidden = true; countMatches(filters.read()); } }, 'Use filters only'),
    );
  }
  if (!ids.length) countMatches(filters.read());

  const phaseRow = h('div', { class: 'form-fields' }, h('div', { class: 'hint' }, 'A phase passes when all its devices are final and its failures do not exceed the error threshold; a success threshold, if given, must also be met. A phase that misses it pauses the rollout with the reason.'), phases.el);
  const syncStrategy = () => {
    phaseRow.hidden = !phased(strategy.value);
  };
  strategy.addEventListener('change', syncStrategy);

  function read() {
    const problems = [];
    const filter = bodyFilter(filters.read());
    const body = { name: name.value.trim(), ...what.read(), filter, strategy: strategy.value };
    if (phased(strategy.value)) body.phases = phases.read(problems);
    const percent = readNumber(errorPct, 'errorThreshold.percent', problems);
    if (percent !== undefined) body.errorThreshold = { percent, action: errorAction.value };
    start.read(body, problems);
    when.read(body, problems);
    pace.read(body, problems);
    if (continuous.input.checked) body.continuous = true;
    return { body, problems };
  }

  function showProblems(error, details) {
    errors.clear();
    const unplaced = errors.show(details);
    const placed = details.length - unplaced.length;
    mount(
      summary,
      h(
        'div',
        { class: 'alert alert-error', role: 'alert' },
        h('strong', null, 'The rollout was not created. '),
        placed ? `${placed === 1 ? 'One problem is' : `${placed} problems are`} marked beside ${placed === 1 ? 'its field' : 'their fields'}.` : error?.message ?? '',
        unplaced.length ? h('ul', null, unplaced.map((d) => h('li', null, d.path ? `${d.path.replace(/^body\./, '')} ${d.message}` : d.message))) : null,
      ),
    );
  }

  const section = (title, ...fields) => h('div', { class: 'form-section' }, h('h3', null, title), h('div', { class: 'form-fields' }, fields));
  const form = h(
    'form',
    {
      class: 'form',
      id: 'rollout-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const { body, problems } = read();
        if (problems.length) return showProblems(null, problems);
        submit.disabled = true;
        try {
          const rollout = await api('POST', '/api/v1/rollouts', { body });
          window.location.hash = `#/rollouts/${encodeURIComponent(rollout.id)}`;
        } catch (error) {
          if (error.details?.length) showProblems(error, error.details);
          else {
            errors.clear();
            mount(summary, errorBox(new Error(`The rollout was not created: ${error.message}`)));
          }
        } finally {
          submit.disabled = false;
        }
      },
    },
    section('What', ...what.rows, labelled(errors, 'name', 'Name', name)),
    section('Which devices', selectionNote, filters.el, filterError, matchCount, what.plan, continuous.row),
    section('How', labelled(errors, 'strategy', 'Strategy', strategy), phaseRow),
    section(
      'When it stops',
      h('div', { class: 'form-row' }, labelled(errors, 'errorThreshold.percent', 'When failures exceed (% of a phase)', errorPct, { hint: 'Empty: never by itself.', also: ['errorThreshold'] }), labelled(errors, 'errorThreshold.action', 'then', errorAction)),
    ),
    section('When', start.el, when.el),
    section('How fast', pace.el),
    summary,
    h('div', { class: 'form-actions' }, h('a', { class: 'btn', href: '#/rollouts' }, 'Cancel'), submit),
  );
  mount(main, card('New rollout', form));
  syncStrategy();

  what.loaded.then(() => ids.length && countMatches(filters.read())).catch((error) => mount(summary, errorBox(error)));
  return null;
}
