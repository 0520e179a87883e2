// The two-phase deposit, done by the page: phase 1 asks for a transfer identifier, the page
// signs sha512_hex(account_number + user_name + amount) from what the customer entered, and
// phase 2 confirms with that signature.
import { h, link } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, ApiError } from '../api.js';
import { won, dateTime } from '../format.js';
import { sha512Hex } from '../sha512.js';
import { page, card, field, notice, errorText, stat, empty } from '../ui.js';

/** The message for a deposit error, by phase and code. */
export function depositError(err, phase) {
  if (!(err instanceof ApiError)) return errorText(err);
  const m = err.message || '';
  if (err.code === 'validation_failed') {
    if (m.includes('holder')) return t('deposit.err.name');
    if (m.includes('at most')) {
      const max = Number(m.replace(/\D+/g, ' ').trim().split(' ').pop());
      return t('deposit.err.limit', { max: Number.isSafeInteger(max) ? won(max) : '–' });
    }
    if (m.includes('positive') || m.includes('whole')) return t('deposit.err.amount');
    return `${t('deposit.err.invalid')} (${m})`;
  }
  if (err.code === 'not_found') return phase === 1 ? t('deposit.err.account') : t('deposit.err.identifier');
  const known = t(`deposit.err.${err.code}`, null);
  return known || errorText(err);
}

/** Digits only ("1,000,000" and "1000000" are the same); null when not a positive whole number. */
export function parseAmount(text) {
  const digits = String(text).replace(/[,\s원]/g, '');
  if (!/^\d+$/.test(digits)) return null;
  const n = Number(digits);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

function recentCard(accounts, recent) {
  const name = (id) => (accounts.find((a) => a.id === id) || {}).account_name || '';
  const done = recent.filter((d) => d.status === 'confirmed').slice(0, 8);
  return card(t('deposit.recent'), done.length
    ? h('ul', { class: 'deposit-list', 'data-testid': 'recent-deposits' }, done.map((d) => h('li', {},
      h('strong', {}, name(d.account_id) || d.account_number), h('strong', { class: 'in' }, `+${won(d.amount)}`),
      h('span', { class: 'sub' }, d.account_number), h('span', { class: 'sub' }, dateTime(d.confirmed_at)))))
    : empty(t('deposit.none')));
}

export async function deposit({ app, query }) {
  if (app.me.role === 'customer' && app.me.customer_id === null) {
    return { title: t('deposit.title'), node: page(t('deposit.title'), empty(t('summary.claim.body'), link('/claim', { class: 'btn btn-primary' }, t('auth.claim')))) };
  }
  const [accounts, recent] = await Promise.all([get('/api/v1/accounts'), get('/api/v1/deposits').catch(() => [])]);
  if (!accounts.length) return { title: t('deposit.title'), node: page(t('deposit.title'), empty(t('summary.noInvest'))) };
  const wanted = query.get('account');
  const select = h('select', { class: 'input', 'data-testid': 'deposit-account' }, accounts.map((a) =>
    h('option', { value: a.account_number, selected: String(a.id) === wanted }, `${a.account_name} · ${a.account_number}`)));
  const name = h('input', { class: 'input', type: 'text', autocomplete: 'name', value: app.me.customer_name || '', 'data-testid': 'deposit-name' });
  const amount = h('input', { class: 'input', type: 'text', inputmode: 'numeric', autocomplete: 'off', placeholder: '100,000', 'data-testid': 'deposit-amount' });
  const preview = h('span', { class: 'amount-preview', 'aria-live': 'polite' });
  amount.addEventListener('input', () => {
    const n = parseAmount(amount.value);
    preview.textContent = n ? won(n) : '';
  });
  const status = h('div', { class: 'form-status', 'aria-live': 'polite', 'data-testid': 'deposit-status' });
  const recentHolder = h('div', {}, recentCard(accounts, recent));
  const result = h('div', { 'data-testid': 'deposit-result' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'deposit-submit' }, t('deposit.submit'));
  const form = h('form', { class: 'form', novalidate: true },
    field(t('deposit.account'), select),
    field(t('deposit.name'), name, t('deposit.name.hint')),
    field(t('deposit.amount'), amount, t('deposit.amount.hint')),
    preview, status, submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    result.replaceChildren();
    const accountNumber = select.value.trim();
    const userName = name.value.trim();
    const n = parseAmount(amount.value);
    if (!userName) { status.replaceChildren(notice('error', t('deposit.err.nameRequired'))); name.focus(); return; }
    if (!n) { status.replaceChildren(notice('error', t('deposit.err.amount'))); amount.focus(); return; }
    submit.disabled = true;
    let phase = 1;
    try {
      status.replaceChildren(notice('info', t('deposit.phase1')));
      const created = await post('/api/v1/deposits', { account_number: accountNumber, user_name: userName, transfer_amount: n });
      phase = 2;
      status.replaceChildren(notice('info', t('deposit.phase2')));
      const signature = await sha512Hex(`${accountNumber}${userName}${n}`);
      const done = await post(`/api/v1/deposits/${encodeURIComponent(created.transfer_identifier)}/confirm`, { signature });
      const id = done.deposit ? done.deposit.account_id : accounts.find((a) => a.account_number === accountNumber).id;
      const [detail, holdings] = await Promise.all([get(`/api/v1/accounts/${id}`), get(`/api/v1/accounts/${id}/holdings`)]);
      const cash = holdings.filter((x) => x.isin === 'CASH').reduce((a, x) => a + x.valuation, 0);
      status.replaceChildren(notice('success', t('deposit.done', { amount: won(n) })));
      result.replaceChildren(card(t('deposit.after'),
        h('div', { class: 'stats' },
          stat(t('invest.cash'), won(cash), { testid: 'deposit-cash' }),
          stat(t('invest.principal'), won(detail.principal), { testid: 'deposit-principal' }),
          stat(t('invest.totalAssets'), won(detail.total_assets))),
        link(`/accounts/${id}`, { class: 'btn' }, t('deposit.viewAccount'))));
      recentHolder.replaceChildren(recentCard(accounts, await get('/api/v1/deposits').catch(() => [])));
      amount.value = '';
      preview.textContent = '';
    } catch (err) {
      status.replaceChildren(notice('error', depositError(err, phase)));
    } finally {
      submit.disabled = false;
    }
  });

  return {
    title: t('deposit.title'),
    node: page(t('deposit.title'), h('p', { class: 'lead' }, t('deposit.lead')),
      h('div', { class: 'grid-2' }, h('div', { class: 'narrow' }, card(null, form), result), recentHolder)),
  };
}

