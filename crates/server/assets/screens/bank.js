// Bank accounts: the list (link, unlink, sync now), an account's transactions (filters,
// paging, re-filing a category), and the link-a-bank page.
import { h, link as a } from '../dom.js';
import { t } from '../i18n.js';
import { get, getOr, post, put, del, query as q, ApiError } from '../api.js';
import { won, date, dateTime, daysAgo, isoDay } from '../format.js';
import { page, card, notice, errorText, table, cell, empty, field, button } from '../ui.js';
import { categories, categoryName } from './common.js';

function bankError(code) {
  return t(`bank.err.${code}`, null) || t('bank.err.generic', { code });
}

function linkButton(label, primary = true) {
  // A real link to the server, which answers 303 to the bank's consent page. With script, the
  // page asks for the consent URL first so that a refusal (no bank configured, bank down) shows
  // as a message on this page instead of an error document.
  const a = h('a', { href: '/api/v1/bank/link', class: `btn ${primary ? 'btn-primary' : ''}`, 'data-testid': 'link-bank' }, label);
  a.addEventListener('click', async (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    const old = a.parentElement && a.parentElement.querySelector('.link-error');
    if (old) old.remove();
    try {
      const r = await get('/api/v1/bank/link');
      if (r && typeof r.authorize_url === 'string' && /^https?:\/\//.test(r.authorize_url)) {
        window.location.assign(r.authorize_url);
      } else {
        window.location.assign(a.href);
      }
    } catch (err) {
      a.after(notice('error', err instanceof ApiError ? bankError(err.code) : errorText(err), { class: 'link-error' }));
    }
  });
  return a;
}

/// The one status line of an account: what its status field says, in words, with its time.
function statusLine(b) {
  const when = (ts) => (ts ? dateTime(ts) : '–');
  switch (b.status) {
    case 'synced': return t('bank.syncedAt', { at: when(b.last_synced_at) });
    case 'syncing': return t('bank.state.syncingLine');
    case 'failed': return t('bank.state.failedLine', { reason: failureReason(b.failure), at: when(b.sync_attempted_at) });
    case 'relink_needed': return t('bank.state.relinkLine');
    case 'maintenance': return t('bank.state.maintenanceLine', { at: when(b.sync_attempted_at) });
    case 'disconnected': return t('bank.state.disconnectedLine');
    default: return t('bank.state.pendingLine');
  }
}

function failureReason(code) {
  return t(`bank.fail.${code}`, null) || t('bank.fail.generic', { code: code || '?' });
}

function unlinkDialog(app, account, status) {
  // A native modal dialog: it traps focus, Escape closes it, and it says what unlinking does.
  const title = h('h2', { id: `unlink-title-${account.id}` }, t('bank.unlinkOne.title', { name: account.account_alias || account.bank_name }));
  const confirm = button(t('bank.unlinkOne.confirm'), { class: 'btn btn-danger', 'data-testid': 'unlink-confirm', value: 'confirm' });
  const cancel = button(t('bank.unlinkOne.cancel'), { class: 'btn', value: 'cancel' });
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': title.id, 'data-testid': 'unlink-dialog' },
    title,
    h('p', {}, t('bank.unlinkOne.body1')),
    h('ul', { class: 'steps' }, h('li', {}, t('bank.unlinkOne.history')), h('li', {}, t('bank.unlinkOne.rules')), h('li', {}, t('bank.unlinkOne.back'))),
    h('p', { class: 'muted' }, t('bank.unlinkOne.center')),
    h('div', { class: 'actions' }, confirm, cancel));
  cancel.addEventListener('click', () => dialog.close());
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    try {
      await del(`/api/v1/bank/accounts/${encodeURIComponent(account.id)}`);
      dialog.close();
      app.navigate('/bank?unlinked=1', { replace: true });
    } catch (e) {
      dialog.close();
      status.replaceChildren(notice('error', e instanceof ApiError && e.code ? bankError(e.code) : errorText(e)));
      confirm.disabled = false;
    }
  });
  return dialog;
}

/// Follows the login's running sync (the first sync after linking starts on its own) to its
/// end, then shows the page again with what it found.
async function follow(app, status) {
  status.append(notice('info', t('bank.syncing')));
  const deadline = Date.now() + 15 * 60 * 1000;
  while (Date.now() < deadline) {
    await new Promise((done) => { setTimeout(done, 1000); });
    if (!document.body.contains(status)) return;
    const list = await getOr('/api/v1/bank/syncs', null);
    if (list && !(list[0] && list[0].status === 'running')) {
      app.rerender();
      return;
    }
  }
}

export async function list({ app, query }) {
  const messages = [];
  if (query.get('linked')) messages.push(notice('success', t('bank.linked')));
  if (query.get('unlinked')) messages.push(notice('success', t('bank.unlinkOne.done')));
  if (query.get('error')) messages.push(notice('error', bankError(query.get('error'))));
  const accounts = await getOr('/api/v1/bank/accounts', null);
  const status = h('div', { 'aria-live': 'polite', 'data-testid': 'bank-status' }, messages);
  if (!accounts || accounts.length === 0) {
    return {
      title: t('bank.title'),
      node: page(t('bank.title'), status, empty(t('summary.noBank'), linkButton(t('bank.link.cta')))),
    };
  }
  const sync = button(t('bank.sync'), { class: 'btn btn-primary', 'data-testid': 'bank-sync' });
  sync.addEventListener('click', async () => {
    sync.disabled = true;
    try {
      let r = await post('/api/v1/bank/sync', {});
      let added = (r.accounts || []).reduce((n, x) => n + Number(x.added || 0), 0);
      let warning = r.status === 'warning';
      let partial = r.status === 'partial' || r.status === 'failed';
      if (r.status === 'running' && r.sync_id) {
        // A long sync goes on without this request: follow its record until it ends.
        status.replaceChildren(notice('info', t('bank.syncing')));
        const deadline = Date.now() + 15 * 60 * 1000;
        do {
          await new Promise((done) => { setTimeout(done, 1000); });
          r = await get(`/api/v1/bank/syncs/${encodeURIComponent(r.id || r.sync_id)}`);
        } while (r.status === 'running' && Date.now() < deadline);
        if (r.status === 'running') throw new ApiError(0, 'sync_running', t('bank.err.sync_running'));
        if (!['ok', 'warning', 'partial', 'failed'].includes(r.status)) throw new ApiError(0, r.status === 'relink_needed' ? 'relink_needed' : 'bank_error', r.error || r.status);
        added = Number(r.added || 0);
        warning = r.status === 'warning';
        partial = r.status === 'partial' || r.status === 'failed';
      }
      app.navigate(`/bank?synced=${added}${warning ? '&warning=1' : ''}${partial ? '&partial=1' : ''}`, { replace: true });
    } catch (e) {
      status.replaceChildren(notice('error', e instanceof ApiError && e.code ? bankError(e.code) : errorText(e)));
      sync.disabled = false;
    }
  });
  if (query.get('synced') !== null) messages.push(notice('success', t('bank.synced', { n: query.get('synced') })));
  if (query.get('partial')) messages.push(notice('error', t('bank.syncPartial')));
  if (query.get('warning')) messages.push(notice('info', t('bank.syncWarning')));
  const unlink = button(t('bank.unlink'), { class: 'btn btn-danger', 'data-testid': 'bank-unlink' });
  unlink.addEventListener('click', async () => {
    if (!window.confirm(t('bank.unlink.confirm'))) return;
    try {
      await del('/api/v1/bank/link');
      app.navigate('/bank', { replace: true });
    } catch (e) {
      status.replaceChildren(notice('error', errorText(e)));
    }
  });
  // Only figures the data supports: an account that never synced counts as nothing, and says so.
  const total = accounts.reduce((n, x) => n + Number(x.balance || 0), 0);
  const relink = accounts.some((x) => x.link_status === 'relink_needed');
  const reconnect = relink ? h('div', { class: 'notice notice-error', 'data-testid': 'relink-notice' },
    h('p', {}, t('bank.err.relink_needed')), h('p', { class: 'muted' }, t('bank.reconnect.keeps')),
    linkButton(t('bank.reconnect'))) : null;
  if (reconnect) reconnect.querySelector('a').setAttribute('data-testid', 'reconnect');
  status.replaceChildren(...messages);
  const dialogs = [];
  const rows = accounts.map((b) => {
    const dialog = unlinkDialog(app, b, status);
    dialogs.push(dialog);
    const open = button(t('bank.unlinkOne'), { class: 'btn btn-sm', 'data-testid': 'unlink-account', 'aria-label': t('bank.unlinkOne.label', { name: b.account_alias || b.bank_name }) });
    open.addEventListener('click', () => dialog.showModal());
    const warn = b.sync_warning && b.status === 'synced' ? h('span', { class: 'account-sub muted', 'data-testid': 'account-warning' }, t(`bank.warn.${b.sync_warning}`, null) || b.sync_warning) : null;
    return h('li', { class: 'account-item', 'data-status': b.status },
      a(`/bank/${b.id}`, { class: 'account-row' },
        h('span', { class: 'account-main' },
          h('span', { class: 'account-name' }, b.account_alias || b.bank_name),
          h('span', { class: 'account-sub' }, `${b.bank_name} · ${b.account_num_masked}`),
          h('span', { class: 'account-sub' },
            h('span', { class: `badge badge-${b.status}`, 'data-testid': 'account-state' }, t(`bank.state.${b.status}`, null) || b.status), ' ',
            h('span', { 'data-testid': 'account-state-line' }, statusLine(b))),
          warn),
        h('span', { class: 'account-amount' }, b.balance === null ? '–' : won(b.balance))),
      open);
  });
  const node = page(t('bank.title'), status, reconnect,
    h('div', { class: 'hero' }, h('span', { class: 'hero-label' }, t('summary.bankTotal')), h('strong', { class: 'hero-value' }, won(total)),
      accounts.some((x) => x.status !== 'synced') ? h('span', { class: 'hero-label', 'data-testid': 'bank-total-stale' }, t('bank.totalStale')) : null),
    h('div', { class: 'actions' }, sync, linkButton(t('bank.link.more'), false), unlink),
    card(t('summary.bank'), h('ul', { class: 'account-list', 'data-testid': 'bank-accounts' }, rows)),
    ...dialogs);
  if (accounts.some((x) => x.status === 'syncing')) {
    sync.disabled = true;
    setTimeout(() => { follow(app, status).catch(() => {}); }, 0);
  }
  return { title: t('bank.title'), node };
}

export async function detail({ app, params, query }) {
  const id = params[0];
  const from = query.get('from') || daysAgo(90);
  const to = query.get('to') || isoDay(new Date());
  const category = query.get('category') || '';
  const pageNo = Math.max(1, Number(query.get('page')) || 1);
  const perPage = 50;
  const [cats, accounts, tx] = await Promise.all([
    categories(),
    getOr('/api/v1/bank/accounts', []),
    getOr(`/api/v1/bank/accounts/${id}/transactions${q({ from, to, category, page: pageNo, per_page: perPage })}`, null),
  ]);
  const acct = accounts.find((x) => String(x.id) === String(id));
  if (!acct || !tx) {
    return { title: t('bank.title'), node: page(t('bank.title'), empty(t('bank.notFound'), a('/bank', { class: 'btn' }, t('bank.back')))) };
  }
  const status = h('div', { 'aria-live': 'polite', 'data-testid': 'refile-status' });
  const flash = sessionStorage.getItem('ginkgo.flash');
  if (flash) {
    sessionStorage.removeItem('ginkgo.flash');
    status.appendChild(notice('success', flash));
  }
  const fromIn = h('input', { class: 'input', type: 'date', value: from, name: 'from' });
  const toIn = h('input', { class: 'input', type: 'date', value: to, name: 'to' });
  const catIn = h('select', { class: 'input', name: 'category' },
    h('option', { value: '' }, t('bank.allCategories')),
    cats.map((c) => h('option', { value: c.code, selected: c.code === category }, categoryName(cats, c.code))));
  const filters = h('form', { class: 'filters' },
    field(t('bank.from'), fromIn), field(t('bank.to'), toIn), field(t('bank.category'), catIn),
    h('button', { type: 'submit', class: 'btn' }, t('bank.apply')));
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    app.navigate(`/bank/${id}${q({ from: fromIn.value, to: toIn.value, category: catIn.value })}`);
  });
  const asRule = h('input', { type: 'checkbox', checked: true, id: 'refile-rule' });
  const rows = tx.items.map((x) => {
    const sel = h('select', { class: 'input input-sm', 'aria-label': t('bank.refile.label', { memo: x.memo }), 'data-testid': 'refile' },
      cats.map((c) => h('option', { value: c.code, selected: c.code === x.category }, categoryName(cats, c.code))));
    if (!cats.some((c) => c.code === x.category)) sel.prepend(h('option', { value: x.category, selected: true }, x.category));
    sel.addEventListener('change', async () => {
      sel.disabled = true;
      try {
        const r = await put(`/api/v1/bank/transactions/${x.id}/category`, { category: sel.value, apply_to: asRule.checked ? 'memo' : 'this' });
        const text = t(asRule.checked ? 'bank.refiled.rule' : 'bank.refiled', { memo: x.memo, category: categoryName(cats, sel.value), n: r && r.changed !== undefined ? r.changed : 1 });
        sessionStorage.setItem('ginkgo.flash', text);
        app.rerender();
      } catch (e) {
        status.replaceChildren(notice('error', errorText(e)));
        sel.disabled = false;
      }
    });
    const signed = x.direction === 'in' ? x.amount : -x.amount;
    return h('tr', { 'data-id': x.id, 'data-memo': x.memo },
      cell(h('span', {}, date(x.date), h('br'), h('small', { class: 'muted' }, /^\d{6}$/.test(x.time || '') ? `${x.time.slice(0, 2)}:${x.time.slice(2, 4)}` : (x.time || '')),
        x.out_of_period ? h('span', { class: 'badge badge-maintenance', title: t('bank.outOfPeriod.hint'), 'data-testid': 'out-of-period' }, t('bank.outOfPeriod')) : null)),
      cell(x.memo, { class: 'memo strong' }),
      cell(h('span', {}, sel, x.category_source ? h('small', { class: 'muted source' }, t(`bank.source.${x.category_source}`, null) || x.category_source) : null)),
      cell(`${signed > 0 ? '+' : ''}${won(signed)}`, { class: `num ${signed > 0 ? 'in' : 'out'}` }),
      cell(won(x.balance_after), { class: 'num muted' }));
  });
  const pages = Math.max(1, Math.ceil(tx.total / perPage));
  const pageLink = (n, label) => a(`/bank/${id}${q({ from, to, category, page: n })}`, { class: 'btn btn-sm' }, label);
  const pager = h('nav', { class: 'pager', 'aria-label': t('bank.paging') },
    pageNo > 1 ? pageLink(pageNo - 1, t('bank.prev')) : null,
    h('span', {}, t('bank.pageOf', { page: pageNo, pages, total: tx.total })),
    pageNo < pages ? pageLink(pageNo + 1, t('bank.next')) : null);
  return {
    title: acct.account_alias || acct.bank_name,
    node: page(acct.account_alias || acct.bank_name,
      h('p', { class: 'lead' }, `${acct.bank_name} · ${acct.account_num_masked} · ${acct.balance === null ? '–' : won(acct.balance)}`),
      card(null, filters),
      card(t('bank.transactions'), status,
        h('p', { class: 'check' }, asRule, h('label', { for: 'refile-rule' }, t('bank.refile.asRule'))),
        rows.length ? table(t('bank.transactions'), [t('bank.date'), t('bank.memo'), t('bank.category'),
          { label: t('bank.amount'), num: true }, { label: t('bank.balance'), num: true }], rows, { 'data-testid': 'transactions' })
          : empty(t('bank.noTx')),
        pager)),
  };
}

export async function link() {
  return {
    title: t('link.title'),
    node: page(t('link.title'), h('div', { class: 'narrow' }, card(null,
      h('p', {}, t('link.body1')),
      h('ol', { class: 'steps' }, h('li', {}, t('link.step1')), h('li', {}, t('link.step2')), h('li', {}, t('link.step3'))),
      h('p', { class: 'muted' }, t('link.body2')),
      linkButton(t('bank.link.cta'))))),
  };
}
