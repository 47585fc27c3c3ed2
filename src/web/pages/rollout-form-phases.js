// The phase editor of the create-rollout form: one row per phase with how far it reaches
// (cumulative percent or device count), its success threshold, soak time and approval. Rows are
// added and removed; the API's messages appear in the row and field they name (phases.N.*).
import { h } from '../util.js';
import { durationInput, numberInput, readNumber, select } from './form-fields.js';

const DEFAULT_PHASES = [{ percent: 10 }, { percent: 50 }, { percent: 100 }];
const MAX_PHASES = 20;

export function phaseEditor(errors) {
  const body = h('tbody');
  const rows = [];
  const add = h('button', { type: 'button', class: 'btn btn-sm', id: 'phase-add' }, '+ Add phase');
  const listError = errors.register('phases', add);
  let made = 0;

  /** Numbers, labels and error bindings follow the rows' order; the last row has no soak or approval. */
  function renumber() {
    errors.unbind((path) => /^phases\.\d+/.test(path));
    rows.forEach((row, i) => {
      const n = i + 1;
      const last = i === rows.length - 1;
      row.title.textContent = `Phase ${n}`;
      row.reach.setAttribute('aria-label', `Phase ${n} reaches`);
      row.unit.setAttribute('aria-label', `Phase ${n} reaches: unit`);
      row.soak.unit.setAttribute('aria-label', `Phase ${n} soak: unit`);
      row.success.setAttribute('aria-label', `Phase ${n} success threshold (%)`);
      row.soak.input.setAttribute('aria-label', `Phase ${n} soak`);
      row.approval.setAttribute('aria-label', `Phase ${n}: hold for approval before the next phase`);
      row.remove.setAttribute('aria-label', `Remove phase ${n}`);
      row.remove.disabled = rows.length === 1;
      // Soak and approval hold back the next phase; the last phase has none.
      row.soak.input.disabled = last;
      row.approval.disabled = last;
      if (last) row.approval.checked = false;
      errors.bind(`phases.${i}`, row.boxes.row, row.reach);
      errors.bind(`phases.${i}.percent`, row.boxes.reach, row.reach);
      errors.bind(`phases.${i}.count`, row.boxes.reach, row.reach);
      errors.bind(`phases.${i}.successThreshold`, row.boxes.success, row.success);
      errors.bind(`phases.${i}.soakSeconds`, row.boxes.soak, row.soak.input);
      errors.bind(`phases.${i}.requireApproval`, row.boxes.approval, row.approval);
    });
    add.disabled = rows.length >= MAX_PHASES;
  }

  function makeRow(spec = {}) {
    const k = made++;
    const reach = numberInput(`phase-${k}-reach`, { value: spec.percent ?? spec.count ?? '', min: 0 });
    const unit = select(`phase-${k}-unit`, [['percent', '% of devices'], ['count', 'devices']], spec.count !== undefined ? 'count' : 'percent');
    const success = numberInput(`phase-${k}-success`, { value: spec.successThreshold ?? '', min: 0, placeholder: 'none' });
    const soak = durationInput(`phase-${k}-soak`, { value: spec.soakSeconds !== undefined ? spec.soakSeconds / 60 : '' });
    const approval = h('input', { type: 'checkbox', id: `phase-${k}-approval`, checked: spec.requireApproval === true });
    const remove = h('button', { type: 'button', class: 'btn btn-sm btn-ghost' }, 'Remove');
    const boxes = { row: errors.box(reach), reach: errors.box(reach), success: errors.box(success), soak: errors.box(soak.input), approval: errors.box(approval) };
    const title = h('strong');
    const tr = h(
      'tr',
      { class: 'phase-row' },
      h('td', null, title, boxes.row),
      h('td', null, h('span', { class: 'input-unit' }, reach, unit), boxes.reach),
      h('td', null, success, boxes.success),
      h('td', null, soak.el, boxes.soak),
      h('td', null, h('label', { class: 'check', for: approval.id }, approval, 'Hold for approval'), boxes.approval),
      h('td', null, remove),
    );
    const row = { tr, title, reach, unit, success, soak, approval, remove, boxes };
    remove.addEventListener('click', () => {
      rows.splice(rows.indexOf(row), 1);
      tr.remove();
      renumber();
    });
    return row;
  }

  function append(spec) {
    const row = makeRow(spec);
    rows.push(row);
    body.append(row.tr);
  }

  add.addEventListener('click', () => {
    // A new phase goes before the last one (which usually reaches everyone), halfway to it.
    const last = rows.at(-1);
    const before = rows.at(-2);
    const from = before && before.unit.value === 'percent' ? Number(before.reach.value) || 0 : 0;
    const row = makeRow(last?.unit.value === 'percent' ? { percent: Math.round((from + (Number(last.reach.value) || 100)) / 2) } : {});
    if (last) {
      rows.splice(rows.length - 1, 0, row);
      body.insertBefore(row.tr, last.tr);
    } else {
      rows.push(row);
      body.append(row.tr);
    }
    renumber();
    row.reach.focus();
  });

  DEFAULT_PHASES.forEach(append);
  renumber();

  const head = h('thead', null, h('tr', null, ['', 'Reaches (cumulative)', 'Success threshold (%)', 'Soak once passed', 'Before the next phase', ''].map((c) => h('th', null, c))));
  const el = h('div', { class: 'phase-editor', id: 'phase-editor' }, h('div', { class: 'table-wrap table-flat' }, h('table', { class: 'table table-compact', id: 'phase-table' }, head, body)), h('div', null, add, listError));

  return {
    el,
    /** The phases as the API takes them; unset fields are left to its defaults. */
    read(problems) {
      return rows.map((row, i) => {
        const phase = {};
        const reach = readNumber(row.reach, `phases.${i}.${row.unit.value}`, problems);
        if (reach !== undefined) phase[row.unit.value] = reach;
        const success = readNumber(row.success, `phases.${i}.successThreshold`, problems);
        if (success !== undefined) phase.successThreshold = success;
        const soak = row.soak.input.disabled ? undefined : row.soak.read(`phases.${i}.soakSeconds`, problems);
        if (soak) phase.soakSeconds = soak;
        if (row.approval.checked) phase.requireApproval = true;
        return phase;
      });
    },
  };
}
