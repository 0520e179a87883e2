// Shared pieces of the screens: headings, cards, stats, tables, messages, form fields.
import { h } from './dom.js';
import { t } from './i18n.js';
import { ApiError } from './api.js';

let fieldSeq = 0;

export function page(title, ...children) {
  return h('section', { class: 'page' }, h('h1', { class: 'page-title', tabindex: -1 }, title), ...children);
}

export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', { class: 'card-title' }, title) : null, ...children);
}

export function stat(label, value, attrs = {}) {
  return h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, label),
    h('strong', { class: `stat-value ${attrs.class || ''}`, 'data-testid': attrs.testid }, value));
}

/** Korean convention: gains red, losses blue. */
export function trendClass(n) {
  return Number(n) > 0 ? 'up' : Number(n) < 0 ? 'down' : '';
}

export function table(caption, headers, rows, attrs = {}) {
  // Each cell carries its column's name, shown above the value when the table is stacked.
  for (const row of rows) {
    Array.from(row.children).forEach((td, i) => {
      const hd = headers[i];
      td.setAttribute('data-label', hd === undefined ? '' : String(hd.label ?? hd));
    });
  }
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', { class: 'table', ...attrs },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col', class: x.num ? 'num' : '' }, x.label ?? x)))),
      h('tbody', {}, rows)));
}

export function cell(value, attrs = {}) {
  return h('td', attrs, value);
}

/** A human message for an API error, in the current language. */
export function errorText(err) {
  if (err instanceof ApiError) {
    const known = t(`err.${err.code}`, null);
    if (known) return known;
    return `${t('err.generic')} (${err.code}: ${err.message})`;
  }
  return `${t('err.generic')} (${err && err.message ? err.message : err})`;
}

export function notice(kind, text, attrs = {}) {
  return h('p', { role: kind === 'error' ? 'alert' : 'status', ...attrs, class: `notice notice-${kind} ${attrs.class || ''}` }, text);
}

/** A labelled input. `input` is an element; returns the wrapper. */
export function field(label, input, hint) {
  const id = input.id || `f-${++fieldSeq}`;
  input.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input,
    hint ? h('small', { id: hintId, class: 'hint' }, hint) : null);
}

export function button(label, attrs = {}) {
  return h('button', { type: 'button', class: 'btn', ...attrs }, label);
}

export function empty(text, ...actions) {
  return h('div', { class: 'empty' }, h('p', {}, text), ...actions);
}
