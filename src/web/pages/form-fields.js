// Labelled inputs for the dashboard's forms: each input has a label, an optional hint and a slot
// for the API's message about it (see form-errors.js), registered under the API's field path.
import { h } from '../util.js';

let counter = 0;
const nextId = (prefix) => `${prefix}-${++counter}`;

/**
 * A labelled control: `control` is an input/select (or a wrapper whose `input` is given); the
 * message box for `path` (and the paths in `also`) follows it. Answers the label element.
 */
export function labelled(errors, path, label, control, { hint, input = control, cls, also = [] } = {}) {
  input.id ||= nextId('field');
  const box = path ? errors.register(path, input) : null;
  for (const other of also) errors.bind(other, box, input);
  return h('label', { for: input.id, class: cls }, label, control, hint ? h('span', { class: 'hint' }, hint) : null, box);
}

/** A number input: empty means "not set"; step "any" unless integers are wanted. */
export function numberInput(id, { placeholder, value, integer = false, min } = {}) {
  return h('input', { id, type: 'number', inputmode: integer ? 'numeric' : 'decimal', step: integer ? 1 : 'any', min, placeholder, value: value ?? '' });
}

/**
 * The number an input holds, undefined when empty; a value the browser cannot parse ("12abc")
 * is reported through `problems` under `path` instead of being dropped silently.
 */
export function readNumber(el, path, problems) {
  if (el.validity?.badInput) {
    problems.push({ path, message: 'must be a number' });
    return undefined;
  }
  return el.value === '' ? undefined : Number(el.value);
}

export function select(id, options, value) {
  return h('select', { id }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

export function checkbox(errors, path, id, label, { checked = false, hint } = {}) {
  const input = h('input', { type: 'checkbox', id, checked });
  const row = h('label', { class: 'check', for: id }, input, h('span', null, label, hint ? h('span', { class: 'hint block' }, hint) : null));
  return { input, row: path ? h('div', null, row, errors.register(path, input)) : row };
}

/** Seconds from a number and a unit select (s, min, h). */
export function durationInput(id, { value = '', unit = '60' } = {}) {
  const amount = numberInput(id, { value, min: 0, placeholder: '0' });
  const units = select(`${id}-unit`, [['1', 's'], ['60', 'min'], ['3600', 'h']], unit);
  units.setAttribute('aria-label', 'unit');
  return {
    input: amount,
    unit: units,
    el: h('span', { class: 'input-unit' }, amount, units),
    read(path, problems) {
      const n = readNumber(amount, path, problems);
      return n === undefined ? undefined : Math.round(n * Number(units.value));
    },
  };
}
