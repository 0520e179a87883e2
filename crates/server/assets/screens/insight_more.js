// The parts of the insight screen that explain the figures: the month and week so far, the
// monthly fixed costs, and the transactions behind every figure (search, how each counts, undo
// of an own-transfer pairing, re-filing by merchant or exact memo, CSV/XLSX export).
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, query as q } from '../api.js';
import { won, date } from '../format.js';
import { card, notice, errorText, table, cell, empty, field, button, stat } from '../ui.js';
import { categoryName } from './common.js';

function change(now, before) {
  const d = now - before;
  if (!before && !now) return '';
  return t(d >= 0 ? 'insight.sofar.more' : 'insight.sofar.less', { amount: won(Math.abs(d)) });
}

/** "This month so far" and "this week so far", each against the same days before. */
export function soFarCard(s) {
  if (!s) return null;
  const part = (x, label) => h('div', { class: 'sofar', 'data-testid': `sofar-${x.period}` },
    h('h3', { class: 'sub-title' }, label, ' ', h('span', { class: 'badge' }, x.complete ? t('insight.sofar.complete') : t('insight.sofar.partial'))),
    h('p', { class: 'muted' }, t('insight.sofar.range', { from: date(x.from), to: date(x.to) })),
    h('div', { class: 'stats' },
      stat(t('insight.spending'), won(x.spending), { class: 'out' }),
      stat(t('insight.income'), won(x.income), { class: 'in' })),
    h('p', { class: 'muted' }, t('insight.sofar.previous', { from: date(x.previous_from), to: date(x.previous_to), amount: won(x.previous_spending) }),
      ' ', change(x.spending, x.previous_spending)));
  return card(t('insight.sofar.title'), h('div', { class: 'grid-2' }, part(s.month, t('insight.sofar.month')), part(s.week, t('insight.sofar.week'))));
}

/** The monthly fixed-cost total of the active series. */
export function fixedCard(f) {
  if (!f) return null;
  return card(t('insight.fixed.title'),
    h('div', { class: 'stats', 'data-testid': 'fixed-costs' },
      stat(t('insight.fixed.out', { n: f.outgoing_series }), won(f.outgoings), { class: 'out' }),
      stat(t('insight.fixed.in', { n: f.income_series }), won(f.income), { class: 'in' })),
    h('p', { class: 'muted' }, t('insight.fixed.lead')));
}

function treatmentText(cats, x) {
  const tr = x.treatment;
  switch (tr.kind) {
    case 'own_transfer':
      if (tr.counterpart) return t('insight.tx.paired', { date: date(tr.counterpart.date), memo: tr.counterpart.memo });
      return t(`insight.tx.transfer.${tr.transfer}`);
    case 'cancelled':
      return t('insight.tx.cancelled', { amount: won(tr.refunded), counted: won(tr.counted) });
    case 'cancellation':
      return tr.purchase ? t('insight.tx.cancellation', { date: date(tr.purchase.date), memo: tr.purchase.memo }) : t('insight.tx.cancellationPlain');
    case 'unmatched_cancellation':
      return t('insight.tx.unmatched');
    default:
      return '';
  }
}

/** Re-file one transaction: by merchant (contains, Ginkgo's stem, editable) or exact memo. */
function refileForm(app, cats, x, done) {
  const category = h('select', { class: 'input input-sm', 'aria-label': t('bank.refile.label', { memo: x.memo }) },
    cats.map((c) => h('option', { value: c.code, selected: c.code === x.category }, categoryName(cats, c.code))));
  const scope = h('select', { class: 'input input-sm', 'aria-label': t('insight.refile.scope') },
    ['merchant', 'exact'].map((k) => h('option', { value: k }, t(`insight.refile.${k}`))));
  const pattern = h('input', { class: 'input input-sm', type: 'text', maxlength: 100 });
  const status = h('div', { 'aria-live': 'polite' });
  let suggestion = null;
  const refresh = async () => {
    try {
      suggestion = await get(`/api/v1/rules/suggest${q({ transaction_id: x.id, category: category.value })}`);
      const opt = suggestion[scope.value];
      pattern.value = opt.pattern;
      status.replaceChildren(notice('info', t('rules.previewResult', { n: opt.changes })));
    } catch (e) {
      status.replaceChildren(notice('error', errorText(e)));
    }
  };
  category.addEventListener('change', refresh);
  scope.addEventListener('change', () => { if (suggestion) { const o = suggestion[scope.value]; pattern.value = o.pattern; status.replaceChildren(notice('info', t('rules.previewResult', { n: o.changes }))); } });
  pattern.addEventListener('change', async () => {
    try {
      const kind = scope.value === 'merchant' ? 'contains' : 'equals';
      const p = await post('/api/v1/rules/preview', { kind, pattern: pattern.value.trim(), category: category.value });
      status.replaceChildren(notice('info', t('rules.previewResult', { n: p.changes })));
    } catch (e) {
      status.replaceChildren(notice('error', errorText(e)));
    }
  });
  const form = h('form', { class: 'form refile-form' },
    h('div', { class: 'filters' }, field(t('rules.category'), category), field(t('insight.refile.scope'), scope), field(t('rules.pattern'), pattern)),
    status,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('rules.add')), button(t('rules.cancel'), { onclick: done })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const kind = scope.value === 'merchant' ? 'contains' : 'equals';
    if (!pattern.value.trim()) { status.replaceChildren(notice('error', t('rules.patternRequired'))); return; }
    try {
      await post('/api/v1/rules', { kind, pattern: pattern.value.trim(), category: category.value });
      app.rerender();
    } catch (err) {
      status.replaceChildren(notice('error', errorText(err)));
    }
  });
  refresh();
  return form;
}

const PERIODS = ['weekly', 'biweekly', 'monthly', 'bimonthly', 'quarterly', 'semiannual', 'yearly'];

/** Add the series a transaction belongs to (same memo and direction) by hand. */
function addSeriesForm(app, x, done) {
  const period = h('select', { class: 'input input-sm' },
    PERIODS.map((p) => h('option', { value: p, selected: p === 'monthly' }, t(`insight.period.${p}`))));
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'form' },
    h('div', { class: 'filters' }, field(t('insight.series.period'), period)),
    status,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('insight.series.add')), button(t('rules.cancel'), { onclick: done })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await post('/api/v1/insight/recurring/add', { transaction_id: x.id, period: period.value });
      app.rerender();
    } catch (err) {
      status.replaceChildren(notice('error', errorText(err)));
    }
  });
  return form;
}

/** Search, how each transaction counts, undo a pairing, re-file, export. */
export function searchCard(app, cats, query, from, to) {
  const text = h('input', { class: 'input', type: 'search', value: query.get('q') || '', maxlength: 100 });
  const min = h('input', { class: 'input', type: 'number', min: 0, step: 1, inputmode: 'numeric', value: query.get('min') || '' });
  const max = h('input', { class: 'input', type: 'number', min: 0, step: 1, inputmode: 'numeric', value: query.get('max') || '' });
  const category = h('select', { class: 'input' }, h('option', { value: '' }, t('insight.search.any')),
    cats.map((c) => h('option', { value: c.code, selected: query.get('category') === c.code }, categoryName(cats, c.code))));
  const params = () => ({ from, to, q: text.value.trim(), min_amount: min.value, max_amount: max.value, category: category.value });
  const results = h('div', { 'aria-live': 'polite', 'data-testid': 'search-results' });
  const exportLinks = h('p', { class: 'actions' });
  const run = async () => {
    const p = params();
    exportLinks.replaceChildren(
      h('a', { class: 'btn btn-sm', href: `/api/v1/insight/transactions/export${q({ ...p, format: 'csv', lang: document.documentElement.lang === 'en' ? 'en' : 'ko' })}`, download: '' }, t('insight.export.csv')),
      h('a', { class: 'btn btn-sm', href: `/api/v1/insight/transactions/export${q({ ...p, format: 'xlsx', lang: document.documentElement.lang === 'en' ? 'en' : 'ko' })}`, download: '' }, t('insight.export.xlsx')));
    try {
      const page = await get(`/api/v1/insight/transactions${q({ ...p, per_page: 100 })}`);
      const rows = page.items.map((x) => {
        const unpair = x.treatment.kind === 'own_transfer'
          ? button(t('insight.tx.unpair'), { class: 'btn btn-sm', onclick: async () => {
            try { await post(`/api/v1/insight/transactions/${x.id}/unpair`, {}); app.rerender(); } catch (e) { results.prepend(notice('error', errorText(e))); }
          } }) : null;
        const tr = h('tr', { 'data-id': x.id },
          cell(date(x.date)),
          cell(x.memo, { class: 'memo strong' }),
          cell(categoryName(cats, x.category)),
          cell(`${x.direction === 'in' ? '+' : '-'}${won(x.amount)}`, { class: `num ${x.direction === 'in' ? 'in' : 'out'}` }),
          cell(treatmentText(cats, x), { class: 'muted' }),
          cell(h('span', { class: 'row-actions' }, unpair, button(t('rules.edit'), { class: 'btn btn-sm', 'aria-label': t('insight.refile.for', { memo: x.memo }), onclick: () => {
            const editor = h('tr', { class: 'editor' }, h('td', { colspan: 6 }, refileForm(app, cats, x, () => editor.remove())));
            tr.after(editor);
          } }), button(t('insight.series.addShort'), { class: 'btn btn-sm', 'aria-label': t('insight.series.addFor', { memo: x.memo }), onclick: () => {
            const editor = h('tr', { class: 'editor' }, h('td', { colspan: 6 }, addSeriesForm(app, x, () => editor.remove())));
            tr.after(editor);
          } }))));
        return tr;
      });
      results.replaceChildren(
        h('p', { class: 'muted', 'data-testid': 'search-summary' }, t('insight.search.summary', { n: page.total, spending: won(page.spending), income: won(page.income) })),
        rows.length ? table(t('insight.search.title'), [t('bank.date'), t('bank.memo'), t('bank.category'), { label: t('bank.amount'), num: true }, t('insight.tx.treatment'), ''], rows)
          : empty(t('bank.noTx')));
    } catch (e) {
      results.replaceChildren(notice('error', errorText(e)));
    }
  };
  const form = h('form', { class: 'filters', role: 'search' },
    field(t('insight.search.text'), text), field(t('insight.search.min'), min), field(t('insight.search.max'), max), field(t('bank.category'), category),
    h('button', { type: 'submit', class: 'btn' }, t('insight.search.go')));
  form.addEventListener('submit', (e) => { e.preventDefault(); run(); });
  run();
  return card(t('insight.search.title'), h('p', { class: 'muted' }, t('insight.search.lead')), form, exportLinks, results);
}

/** Dismiss a detected series, or remove one the customer added. */
export function seriesActions(app, r, status) {
  const body = { direction: r.direction, key: r.key };
  if (r.source === 'added') {
    return button(t('insight.series.remove'), { class: 'btn btn-sm', 'aria-label': t('insight.series.removeFor', { memo: r.memo }), onclick: async () => {
      try { await post('/api/v1/insight/recurring/restore', body); app.rerender(); } catch (e) { status.replaceChildren(notice('error', errorText(e))); }
    } });
  }
  return button(t('insight.series.dismiss'), { class: 'btn btn-sm', 'aria-label': t('insight.series.dismissFor', { memo: r.memo }), onclick: async () => {
    try { await post('/api/v1/insight/recurring/dismiss', body); app.rerender(); } catch (e) { status.replaceChildren(notice('error', errorText(e))); }
  } });
}
