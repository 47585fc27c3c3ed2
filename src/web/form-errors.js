// The API's validation messages beside the fields they name. A form binds each field's message box
// to the path the API uses ("phases.1.percent", "window.timezone"); show(details) puts every
// message in the box with the longest matching path, marks its input aria-invalid, and answers the
// messages no field claimed so the form can show them in its summary.
import { h, mount } from './util.js';

let counter = 0;

/** Strips what Fastify adds to a body field's path ("body.phases" -> "phases"). */
export const normalisePath = (path) => String(path ?? '').replace(/^body(\.|$)/, '').replace(/\[(\d+)\]/g, '.$1').replace(/^\./, '');

export function fieldErrors() {
  const slots = new Map();
  const boxes = new Set();

  const api = {
    /** A message box (hidden until a message arrives), linked to `input` for screen readers. */
    box(input) {
      const box = h('div', { class: 'field-error', id: `field-error-${++counter}`, role: 'alert', hidden: true });
      boxes.add({ box, input });
      return box;
    },
    /** Messages about `path` (and its sub-fields, unless bound themselves) go to `box`. */
    bind(path, box, input) {
      slots.set(path, { box, input });
    },
    /** box() and bind() in one: answers the box to place after the input. */
    register(path, input) {
      const box = api.box(input);
      api.bind(path, box, input);
      return box;
    },
    /** Forgets the bindings whose path matches (a phase row that moved or went). */
    unbind(test) {
      for (const path of [...slots.keys()]) if (test(path)) slots.delete(path);
    },
    clear() {
      for (const { box, input } of boxes) {
        box.hidden = true;
        mount(box);
        input?.removeAttribute('aria-invalid');
        input?.removeAttribute('aria-describedby');
      }
    },
    /** Places the details; answers those without a field. */
    show(details) {
      const unplaced = [];
      let first = null;
      for (const detail of details ?? []) {
        const path = normalisePath(detail.path);
        let key = path;
        while (key && !slots.has(key)) key = key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : '';
        const slot = key ? slots.get(key) : null;
        if (!slot) {
          unplaced.push(detail);
          continue;
        }
        // A message about a sub-field without its own input keeps the sub-field's name.
        const rest = path.slice(key.length).replace(/^\./, '');
        slot.box.append(h('div', null, rest ? `${rest} ${detail.message}` : detail.message));
        slot.box.hidden = false;
        slot.input?.setAttribute('aria-invalid', 'true');
        slot.input?.setAttribute('aria-describedby', slot.box.id);
        first ??= slot.input;
      }
      first?.focus?.();
      return unplaced;
    },
  };
  return api;
}
