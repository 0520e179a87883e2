// Ginkgo web app: the shell, the router and the session. Screens live in ./screens/.
import { h, clear, link } from './dom.js';
import { t, lang, setLang } from './i18n.js';
import { get, post, ApiError } from './api.js';
import { errorText, notice } from './ui.js';
import * as auth from './screens/auth.js';
import * as invest from './screens/invest.js';
import * as deposit from './screens/deposit.js';
import * as bank from './screens/bank.js';
import * as insight from './screens/insight.js';
import * as operator from './screens/operator.js';

const ROUTES = [
  [/^\/$/, invest.summary],
  [/^\/login$/, auth.login, { public: true }],
  [/^\/signup$/, auth.signup, { public: true }],
  [/^\/claim$/, auth.claim],
  [/^\/accounts\/(\d+)$/, invest.account],
  [/^\/deposit$/, deposit.deposit],
  [/^\/bank$/, bank.list],
  [/^\/bank\/(\d+)$/, bank.detail],
  [/^\/link$/, bank.link],
  [/^\/insight$/, insight.insight],
  [/^\/operator\/runs$/, operator.runs, { operator: true }],
  [/^\/operator\/runs\/(\d+)$/, operator.run, { operator: true }],
];

const app = {
  me: undefined,
  navigate(path, { replace = false } = {}) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    render(true);
  },
  async reloadMe() {
    try {
      app.me = await get('/api/v1/me');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) app.me = null;
      else throw e;
    }
    return app.me;
  },
  async logout() {
    try { await post('/api/v1/auth/logout', {}); } catch { /* the cookies are cleared anyway */ }
    app.me = null;
    app.navigate('/login');
  },
  rerender() { render(false); },
};

const main = document.getElementById('main');
const header = document.getElementById('site-header');
let renderSeq = 0;

function navItem(href, label) {
  const here = location.pathname === href || (href !== '/' && location.pathname.startsWith(href));
  return h('li', {}, link(href, { 'aria-current': here ? 'page' : null }, label));
}

function renderHeader() {
  clear(header);
  const other = lang() === 'ko' ? 'en' : 'ko';
  const langBtn = h('button', { type: 'button', class: 'btn btn-ghost lang-toggle', lang: other, 'data-testid': 'lang-toggle',
    onclick: () => { setLang(other); renderHeader(); render(false); } }, t('lang.switch'));
  const me = app.me;
  const nav = me ? h('nav', { class: 'site-nav', 'aria-label': t('nav.label') }, h('ul', {},
    navItem('/', t('nav.summary')),
    navItem('/deposit', t('nav.deposit')),
    navItem('/bank', t('nav.bank')),
    navItem('/insight', t('nav.insight')),
    me.role === 'operator' ? navItem('/operator/runs', t('nav.operator')) : null)) : null;
  header.appendChild(h('div', { class: 'header-inner' },
    link('/', { class: 'brand' }, h('img', { class: 'brand-mark', src: new URL('./icon.svg', import.meta.url).pathname, alt: '', width: 28, height: 28 }), h('span', {}, 'Ginkgo')),
    nav,
    h('div', { class: 'header-actions' }, langBtn,
      me ? h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => app.logout() }, t('nav.logout')) : null)));
}

async function render(focus) {
  const seq = ++renderSeq;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  let match = null;
  for (const [re, screen, opts] of ROUTES) {
    const m = re.exec(path);
    if (m) { match = { screen, opts: opts || {}, params: m.slice(1) }; break; }
  }
  if (app.me === undefined) {
    try { await app.reloadMe(); } catch { app.me = null; }
  }
  if (match && !match.opts.public && !app.me) {
    const next = location.pathname + location.search;
    history.replaceState(null, '', `/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`);
    return render(focus);
  }
  renderHeader();
  main.setAttribute('aria-busy', 'true');
  let view;
  try {
    if (!match) view = { title: t('notfound.title'), node: notice('error', t('notfound.body')) };
    else if (match.opts.operator && app.me.role !== 'operator') view = { title: t('forbidden.title'), node: notice('error', t('forbidden.body')) };
    else view = await match.screen({ app, params: match.params, query: new URLSearchParams(location.search) });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return undefined;
    view = { title: t('err.title'), node: h('section', { class: 'page' }, h('h1', { class: 'page-title', tabindex: -1 }, t('err.title')), notice('error', errorText(e))) };
  }
  if (seq !== renderSeq) return undefined;
  shownPath = location.pathname + location.search;
  clear(main).appendChild(view.node);
  main.removeAttribute('aria-busy');
  document.title = `${view.title} · Ginkgo`;
  if (focus) {
    const heading = main.querySelector('h1');
    if (heading) heading.focus({ preventScroll: false });
    window.scrollTo(0, 0);
  }
  return undefined;
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  app.navigate(url.pathname + url.search);
});

let shownPath = null;
window.addEventListener('popstate', () => {
  // A fragment change (the skip link) is not a new screen.
  if (location.pathname + location.search === shownPath) return;
  render(true);
});
window.addEventListener('ginkgo:unauthorized', () => {
  if (!app.me) return; // not logged in yet: the router shows the login screen itself
  app.me = null;
  if (location.pathname !== '/login') app.navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
});

document.documentElement.lang = lang();
document.getElementById('skip-link').textContent = t('skip');
render(false);
