// The console's shell: sign-in, role detection, navigation between pages.
import { api, ApiError, h, session, setUnauthenticatedHandler, errorBox, showError } from './ui.js';

const PAGES = {
  '': () => import('./dashboard.js'),
  users: () => import('./users.js'),
  pools: () => import('./pools.js'),
  distributions: () => import('./distributions.js'),
  rules: () => import('./rules.js'),
  history: () => import('./history.js'),
  unassigned: () => import('./unassigned.js'),
  reports: () => import('./reports.js'),
  simulate: () => import('./simulate.js'),
  connectors: () => import('./connectors.js'),
  webhooks: () => import('./webhooks.js'),
  keys: () => import('./keys.js'),
  settings: () => import('./settings.js'),
};
// Pages whose routes answer admins only: hidden from the navigation of other roles.
const ADMIN_ONLY = new Set(['webhooks', 'keys', 'settings']);

const $ = (id) => document.getElementById(id);

// The API has no "who am I": an admin may list keys, a member may read users,
// anything else (an integration key) may do neither.
function showSignin(message) {
  $('shell').hidden = true;
  $('signin').hidden = false;
  $('signin-error').replaceChildren(message ? errorBox(message, { title: 'Signed out' }) : '');
  $('signin-key').focus();
}

async function signin(ev) {
  ev.preventDefault();
  const key = $('signin-key').value.trim();
  const slot = $('signin-error');
  slot.replaceChildren();
  if (!key) {
    slot.replaceChildren(h('p', { class: 'field-error' }, 'Enter an API key.'));
    return;
  }
  const btn = ev.submitter || $('signin-form').querySelector('button');
  btn.disabled = true;
  try {
    const me = await api('GET', '/v1/me', { key });
    if (me.role === 'integration') {
      slot.replaceChildren(errorBox(new Error('This is an integration key: it may only send decisions and records. Sign in with an admin or member key.'), { title: 'This key cannot use the console' }));
      return;
    }
    session.set(key, me);
    $('signin-key').value = '';
    start();
  } catch (e) {
    showError(slot, e.status === 401 ? new ApiError(401, e.code, 'The server does not know this key, or it was revoked.', []) : e,
      { title: 'Could not sign in' });
  } finally {
    btn.disabled = false;
  }
}

let renderSeq = 0;
async function route() {
  if (!session.key) return showSignin();
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, qs] = hash.split('?');
  const page = PAGES[name] && (session.canEdit || !ADMIN_ONLY.has(name)) ? name : '';
  document.querySelectorAll('#nav a').forEach((a) => {
    const target = a.getAttribute('href').replace(/^#\/?/, '');
    if (target === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
  $('nav').classList.remove('open');
  $('menu-toggle').setAttribute('aria-expanded', 'false');
  const main = $('main');
  const seq = ++renderSeq;
  main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  try {
    const mod = await PAGES[page]();
    if (seq !== renderSeq) return;
    const root = h('div', { class: 'page', id: `page-${page || 'dashboard'}` });
    main.replaceChildren(root);
    await mod.render(root, { params: new URLSearchParams(qs || ''), canEdit: session.canEdit, canReassign: session.canReassign, role: session.role });
    document.title = `${root.querySelector('h1')?.textContent || 'rota'} · rota`;
  } catch (e) {
    if (seq !== renderSeq) return;
    main.replaceChildren(errorBox(e, { title: 'This page could not be loaded' }));
  }
}

function start() {
  $('signin').hidden = true;
  $('shell').hidden = false;
  const role = session.role;
  const b = $('role-badge');
  b.textContent = role === 'admin' ? 'admin' : `${role} · ${session.canReassign ? 'read, may reassign' : 'read only'}`;
  b.className = `badge role-${role}`;
  document.body.classList.toggle('readonly', role !== 'admin');
  document.querySelectorAll('#nav a').forEach((a) => {
    a.parentElement.hidden = role !== 'admin' && ADMIN_ONLY.has(a.getAttribute('href').replace(/^#\/?/, ''));
  });
  route();
}

setUnauthenticatedHandler((e) => {
  session.clear();
  showSignin(new ApiError(401, e.code, 'The key stopped working (it may have been revoked). Sign in again.', []));
});

$('signin-form').addEventListener('submit', signin);
$('signout').addEventListener('click', () => { session.clear(); location.hash = '#/'; showSignin(); });
$('menu-toggle').addEventListener('click', () => {
  const open = $('nav').classList.toggle('open');
  $('menu-toggle').setAttribute('aria-expanded', String(open));
});
window.addEventListener('hashchange', () => { route().then(() => $('main').querySelector('h1')?.focus({ preventScroll: true })); });

if (session.key && session.role) start(); else showSignin();
