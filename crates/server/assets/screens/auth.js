// Login, sign-up (optionally claiming a customer record) and claiming later.
import { h, link } from '../dom.js';
import { t } from '../i18n.js';
import { post } from '../api.js';
import { page, card, field, notice, errorText } from '../ui.js';

function safeNext(query) {
  const next = query.get('next') || '/';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

function form(onSubmit, ...children) {
  const notFound = children[0] && children[0].notFound;
  if (notFound) children.shift();
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const submit = children.pop();
  const el = h('form', { class: 'form', novalidate: true }, ...children, status, submit);
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.replaceChildren();
    submit.disabled = true;
    try {
      await onSubmit(status);
    } catch (err) {
      const text = notFound && err && err.code === 'not_found' ? t('auth.claim.notFound') : errorText(err);
      status.replaceChildren(notice('error', text));
    } finally {
      submit.disabled = false;
    }
  });
  return el;
}

const input = (attrs) => h('input', { class: 'input', ...attrs });

export async function login({ app, query }) {
  const email = input({ type: 'email', name: 'email', autocomplete: 'username', required: true, 'data-testid': 'login-email' });
  const password = input({ type: 'password', name: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'login-password' });
  const f = form(async () => {
    await post('/api/v1/auth/login', { email: email.value.trim(), password: password.value });
    await app.reloadMe();
    app.navigate(safeNext(query), { replace: true });
  },
  field(t('auth.email'), email),
  field(t('auth.password'), password),
  h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'login-submit' }, t('auth.login')));
  return {
    title: t('auth.login'),
    node: h('div', { class: 'auth-wrap' }, page(t('auth.login.heading'),
      h('p', { class: 'lead' }, t('auth.login.lead')),
      card(null, f),
      h('p', { class: 'center' }, t('auth.noaccount'), ' ', link(`/signup${location.search}`, {}, t('auth.signup'))))),
  };
}

export async function signup({ app }) {
  const email = input({ type: 'email', autocomplete: 'username', required: true });
  const password = input({ type: 'password', autocomplete: 'new-password', minlength: 10, required: true });
  const name = input({ type: 'text', autocomplete: 'name' });
  const number = input({ type: 'text', inputmode: 'numeric', autocomplete: 'off' });
  const f = form(async (status) => {
    if (password.value.length < 10) {
      status.replaceChildren(notice('error', t('auth.password.short')));
      return;
    }
    const body = { email: email.value.trim(), password: password.value };
    if (name.value.trim() || number.value.trim()) {
      body.customer_name = name.value.trim();
      body.account_number = number.value.replace(/[\s-]/g, '');
    }
    await post('/api/v1/auth/signup', body);
    await app.reloadMe();
    app.navigate('/', { replace: true });
  },
  { notFound: true },
  field(t('auth.email'), email),
  field(t('auth.password'), password, t('auth.password.hint')),
  h('fieldset', { class: 'fieldset' }, h('legend', {}, t('auth.claim.legend')),
    h('p', { class: 'hint' }, t('auth.claim.hint')),
    field(t('auth.customerName'), name),
    field(t('auth.accountNumber'), number)),
  h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('auth.signup')));
  return {
    title: t('auth.signup'),
    node: h('div', { class: 'auth-wrap' }, page(t('auth.signup'), card(null, f),
      h('p', { class: 'center' }, t('auth.haveaccount'), ' ', link('/login', {}, t('auth.login'))))),
  };
}

export async function claim({ app }) {
  const name = input({ type: 'text', autocomplete: 'name', required: true, 'data-testid': 'claim-name' });
  const number = input({ type: 'text', inputmode: 'numeric', autocomplete: 'off', required: true, 'data-testid': 'claim-number' });
  const f = form(async () => {
    await post('/api/v1/auth/claim', { customer_name: name.value.trim(), account_number: number.value.replace(/[\s-]/g, '') });
    await app.reloadMe();
    app.navigate('/', { replace: true });
  },
  { notFound: true },
  field(t('auth.customerName'), name),
  field(t('auth.accountNumber'), number),
  h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('auth.claim')));
  return {
    title: t('auth.claim'),
    node: h('div', { class: 'auth-wrap' }, page(t('auth.claim'), h('p', { class: 'lead' }, t('auth.claim.hint')), card(null, f))),
  };
}
