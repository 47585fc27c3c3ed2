// The dashboard shell: sign-in with a token, the sidebar, the hash router and the live indicator.
// Each page module exports render(main, params, ctx) and may return a cleanup function; ctx has
// setTitle(text), query (the URLSearchParams after "?" in the hash) and setQuery(object), which
// rewrites that query in place without re-rendering the page.
import { api, session } from './api.js';
import { live } from './live.js';
import { h, mount } from './util.js';
import * as overview from './pages/overview.js';
import * as devices from './pages/devices.js';
import * as device from './pages/device.js';
import * as artifacts from './pages/artifacts.js';
import * as releases from './pages/releases.js';
import * as release from './pages/release.js';
import * as groups from './pages/groups.js';
import * as rollouts from './pages/rollouts.js';
import * as rollout from './pages/rollout.js';
import * as rolloutNew from './pages/rollout-new.js';
import * as policies from './pages/policies.js';
import * as events from './pages/events.js';
import * as notFound from './pages/not-found.js';

const root = document.getElementById('root');

const ROUTES = [
  { pattern: /^\/$/, page: overview, nav: 'overview', title: 'Fleet overview' },
  { pattern: /^\/devices$/, page: devices, nav: 'devices', title: 'Devices' },
  { pattern: /^\/devices\/(.+)$/, page: device, nav: 'devices', title: 'Device' },
  { pattern: /^\/groups$/, page: groups, nav: 'groups', title: 'Groups' },
  { pattern: /^\/artifacts$/, page: artifacts, nav: 'artifacts', title: 'Artifacts' },
  { pattern: /^\/releases$/, page: releases, nav: 'releases', title: 'Releases' },
  { pattern: /^\/releases\/(.+)$/, page: release, nav: 'releases', title: 'Release' },
  { pattern: /^\/rollouts$/, page: rollouts, nav: 'rollouts', title: 'Rollouts' },
  { pattern: /^\/rollouts\/new$/, page: rolloutNew, nav: 'rollouts', title: 'New rollout' },
  { pattern: /^\/rollouts\/(.+)$/, page: rollout, nav: 'rollouts', title: 'Rollout' },
  { pattern: /^\/policies$/, page: policies, nav: 'policies', title: 'Policies' },
  { pattern: /^\/events$/, page: events, nav: 'events', title: 'Event log' },
];

const NAV = [
  ['overview', '#/', 'Overview', 'M3 12l9-8 9 8v8a1 1 0 01-1 1h-5v-6H9v6H4a1 1 0 01-1-1z'],
  ['devices', '#/devices', 'Devices', 'M4 5h16v10H4zM8 19h8M12 15v4'],
  ['groups', '#/groups', 'Groups', 'M4 7h7v7H4zM13 10h7v7h-7zM7 14v3h6'],
  ['artifacts', '#/artifacts', 'Artifacts', 'M12 3l8 4.5v9L12 21l-8-4.5v-9zM12 12l8-4.5M12 12v9M12 12L4 7.5'],
  ['releases', '#/releases', 'Releases', 'M5 4h14v4H5zM5 10h14v4H5zM5 16h14v4H5z'],
  ['rollouts', '#/rollouts', 'Rollouts', 'M4 18l5-6 4 3 7-9M15 6h5v5'],
  ['policies', '#/policies', 'Policies', 'M12 3l7 3v6c0 4.5-3 7.5-7 9-4-1.5-7-4.5-7-9V6z'],
  ['events', '#/events', 'Event log', 'M5 6h14M5 12h14M5 18h9'],
];

let cleanup = null;

function icon(d) {
  return h('svg', { class: 'icon', viewBox: '0 0 24 24', 'aria-hidden': 'true' }, h('path', { d }));
}

function signIn(message) {
  live.stop();
  const input = h('input', { id: 'token', type: 'password', placeholder: 'Paste an operator, viewer or admin token', autocomplete: 'current-password', required: true });
  const error = h('div', { class: 'alert alert-error', role: 'alert', hidden: !message }, message ?? '');
  const form = h(
    'form',
    {
      class: 'signin-card',
      onsubmit: async (event) => {
        event.preventDefault();
        session.set(input.value.trim());
        try {
          await whoami();
          start();
        } catch (e) {
          session.clear();
          error.hidden = false;
          error.textContent = e.status === 401 ? 'That token is unknown, revoked or expired.' : e.message;
        }
      },
    },
    h('div', { class: 'brand brand-lg' }, h('span', { class: 'brand-mark' }), 'Update Orchestrator'),
    h('p', { class: 'muted' }, 'Sign in with an API token. Create one with ', h('code', null, 'orchestrator tokens create --role operator'), '.'),
    h('label', { for: 'token' }, 'Token'),
    input,
    error,
    h('button', { class: 'btn btn-primary btn-block', type: 'submit' }, 'Sign in'),
  );
  mount(root, h('div', { class: 'signin' }, form));
  root.className = '';
  input.focus();
}

async function whoami() {
  const me = await api('GET', '/api/v1/whoami');
  if (me.role === 'device') throw new Error('a device token cannot use the dashboard');
  session.role = me.role;
  session.name = me.name;
}

function shell() {
  const liveBadge = h('span', { class: 'live live-offline' }, h('span', { class: 'dot' }), 'Offline');
  live.onStatus((state) => {
    liveBadge.className = `live live-${state}`;
    liveBadge.lastChild.textContent = state === 'live' ? 'Live' : state === 'offline' ? 'Offline' : 'Reconnecting…';
  });
  const nav = h('nav', { class: 'nav' }, NAV.map(([key, href, label, d]) => h('a', { href, dataset: { nav: key } }, icon(d), h('span', null, label))));
  const title = h('h1', { id: 'page-title' }, '');
  const main = h('main', { id: 'main', class: 'content' });
  const layout = h(
    'div',
    { class: 'layout' },
    h('aside', { class: 'sidebar' }, h('div', { class: 'brand' }, h('span', { class: 'brand-mark' }), 'Orchestrator'), nav, h('div', { class: 'sidebar-foot' }, h('a', { href: '/docs', target: '_blank', rel: 'noopener' }, 'API documentation'))),
    h(
      'div',
      { class: 'page' },
      h(
        'header',
        { class: 'topbar' },
        title,
        h('div', { class: 'topbar-right' }, liveBadge, h('span', { class: 'who' }, h('span', { class: `role role-${session.role}` }, session.role), session.name), h('button', { class: 'btn btn-ghost', id: 'sign-out', onclick: () => { session.clear(); signIn(); } }, 'Sign out')),
      ),
      main,
    ),
  );
  mount(root, layout);
  root.className = '';
  return { main, title, nav };
}

let ui = null;

const NOT_FOUND = { page: notFound, nav: null, title: 'Not found' };

function setTitle(text) {
  ui.title.textContent = text;
  document.title = `${text} · Update Orchestrator`;
}

/** Rewrites the hash's query (empty values dropped) without a hashchange, so the page stays. */
function setQuery(path, values) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && v !== '') query.set(k, String(v));
  const text = query.toString();
  window.history.replaceState(null, '', `#${path}${text ? `?${text}` : ''}`);
}

function route() {
  if (!ui) return;
  const [path, search] = (window.location.hash.replace(/^#/, '') || '/').split(/\?(.*)/s);
  const found = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
  const { r, m } = found ?? { r: NOT_FOUND, m: [path] };
  cleanup?.();
  cleanup = null;
  live.focus({});
  // Every route sets the menu and the title, the not-found page included (nothing highlighted).
  for (const a of ui.nav.querySelectorAll('a')) {
    const active = a.dataset.nav === r.nav;
    a.classList.toggle('active', active);
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  setTitle(r.title);
  let params;
  try {
    params = found ? m.slice(1).map(decodeURIComponent) : [path];
  } catch {
    params = m.slice(1);
  }
  mount(ui.main);
  const ctx = { setTitle, query: new URLSearchParams(search ?? ''), setQuery: (values) => setQuery(path, values) };
  cleanup = r.page.render(ui.main, params, ctx) ?? null;
}

function start() {
  ui = shell();
  live.start();
  route();
}

window.addEventListener('hashchange', route);
window.addEventListener('orchestrator:signed-out', () => {
  session.clear();
  ui = null;
  signIn('Your session ended: sign in again.');
});

(async () => {
  if (!session.token) return signIn();
  try {
    await whoami();
    start();
  } catch {
    session.clear();
    signIn();
  }
})();
