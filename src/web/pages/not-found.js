// The page for a hash route the dashboard does not know: says which, and where to go instead.
import { card, h, mount } from '../util.js';

export function render(main, [path]) {
  mount(
    main,
    card(
      'Page not found',
      h(
        'div',
        { class: 'empty', id: 'not-found' },
        h('p', null, 'There is no page at ', h('code', null, `#${path}`), '.'),
        h('p', null, h('a', { href: '#/' }, 'Back to the overview'), ' · ', h('a', { href: '#/rollouts' }, 'Rollouts'), ' · ', h('a', { href: '#/devices' }, 'Devices')),
      ),
    ),
  );
  return null;
}
