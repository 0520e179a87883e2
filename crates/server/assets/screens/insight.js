// Spending insight: by category, weekly balance against spending and income, recurring
// payments, upcoming payments, and the customer's own rules (list, edit, reorder, delete, preview).
import { h, link } from '../dom.js';
import { t } from '../i18n.js';
import { getOr, post, put, del, query as q } from '../api.js';
import { won, date, shortDate, daysAgo, isoDay, month } from '../format.js';
import { page, card, notice, errorText, table, cell, empty, field, button } from '../ui.js';
import { xyChart, hbarChart } from '../charts.js';
import { categories, categoryName } from './common.js';
import { soFarCard, fixedCard, searchCard, seriesActions } from './insight_more.js';

function ruleForm(cats, rule, onSaved, onCancel) {
  const kind = h('select', { class: 'input' },
    ['equals', 'contains'].map((k) => h('option', { value: k, selected: rule ? rule.kind === k : k === 'contains' }, t(`rules.kind.${k}`))));
  const pattern = h('input', { class: 'input', type: 'text', value: rule ? rule.pattern : '', required: true, 'data-testid': 'rule-pattern' });
  const category = h('select', { class: 'input', 'data-testid': 'rule-category' },
    cats.map((c) => h('option', { value: c.code, selected: rule && rule.category === c.code }, categoryName(cats, c.code))));
  const status = h('div', { 'aria-live': 'polite' });
  const body = () => ({ kind: kind.value, pattern: pattern.value.trim(), category: category.value });
  const previewBtn = button(t('rules.preview'), { 'data-testid': 'rule-preview' });
  previewBtn.addEventListener('click', async () => {
    if (!body().pattern) { status.replaceChildren(notice('error', t('rules.patternRequired'))); return; }
    try {
      const p = await post('/api/v1/rules/preview', body());
      status.replaceChildren(notice('info', t('rules.previewResult', { n: p.changes })),
        p.sample && p.sample.length ? h('ul', { class: 'sample' }, p.sample.map((x) =>
          h('li', {}, h('span', { class: 'memo' }, x.memo), ` ${x.from ? categoryName(cats, x.from) : '–'} → ${categoryName(cats, x.to)}`))) : null);
    } catch (e) {
      status.replaceChildren(notice('error', errorText(e)));
    }
  });
  const form = h('form', { class: 'form rule-form' },
    h('div', { class: 'filters' }, field(t('rules.kind'), kind), field(t('rules.pattern'), pattern), field(t('rules.category'), category)),
    status,
    h('div', { class: 'actions' }, previewBtn, h('button', { type: 'submit', class: 'btn btn-primary' }, rule ? t('rules.save') : t('rules.add')),
      onCancel ? button(t('rules.cancel'), { onclick: onCancel }) : null));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!body().pattern) { status.replaceChildren(notice('error', t('rules.patternRequired'))); return; }
    try {
      if (rule) await put(`/api/v1/rules/${rule.id}`, body());
      else await post('/api/v1/rules', body());
      onSaved();
    } catch (err) {
      status.replaceChildren(notice('error', errorText(err)));
    }
  });
  return form;
}

function rulesCard(app, cats, rules) {
  const status = h('div', { 'aria-live': 'polite' });
  const move = async (i, d) => {
    const ids = rules.map((r) => r.id);
    const j = i + d;
    if (j < 0 || j >= ids.length) return;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    try { await post('/api/v1/rules/reorder', { ids }); app.rerender(); } catch (e) { status.replaceChildren(notice('error', errorText(e))); }
  };
  const rows = rules.map((r, i) => {
    const tr = h('tr', { 'data-rule': r.id },
      cell(String(i + 1), { class: 'num muted' }),
      cell(t(`rules.kind.${r.kind}`)),
      cell(r.pattern, { class: 'memo strong' }),
      cell(categoryName(cats, r.category)),
      cell(h('span', { class: 'row-actions' },
        button('↑', { class: 'btn btn-sm', 'aria-label': t('rules.up', { p: r.pattern }), disabled: i === 0, onclick: () => move(i, -1) }),
        button('↓', { class: 'btn btn-sm', 'aria-label': t('rules.down', { p: r.pattern }), disabled: i === rules.length - 1, onclick: () => move(i, 1) }),
        button(t('rules.edit'), { class: 'btn btn-sm', onclick: () => {
          const editor = h('tr', { class: 'editor' }, h('td', { colspan: 5 }, ruleForm(cats, r, () => app.rerender(), () => editor.remove())));
          tr.after(editor);
        } }),
        button(t('rules.delete'), { class: 'btn btn-sm btn-danger', onclick: async () => {
          if (!window.confirm(t('rules.delete.confirm', { p: r.pattern }))) return;
          try { await del(`/api/v1/rules/${r.id}`); app.rerender(); } catch (e) { status.replaceChildren(notice('error', errorText(e))); }
        } }))));
    return tr;
  });
  return card(t('rules.title'), h('p', { class: 'muted' }, t('rules.lead')), status,
    rules.length ? table(t('rules.title'), ['#', t('rules.kind'), t('rules.pattern'), t('rules.category'), ''], rows, { 'data-testid': 'rules' })
      : empty(t('rules.none')),
    h('h3', { class: 'sub-title' }, t('rules.new')),
    ruleForm(cats, null, () => app.rerender()));
}

export async function insight({ app, query }) {
  const from = query.get('from') || daysAgo(180);
  const to = query.get('to') || isoDay(new Date());
  const range = q({ from, to });
  const [cats, banks, spending, weekly, monthly, recurring, upcoming, rules, soFar, fixed] = await Promise.all([
    categories(),
    getOr('/api/v1/bank/accounts', []),
    getOr(`/api/v1/insight/spending${range}`, null),
    getOr(`/api/v1/insight/weekly${range}`, null),
    getOr(`/api/v1/insight/monthly${range}`, null),
    getOr('/api/v1/insight/recurring', null),
    getOr('/api/v1/insight/upcoming?days=30', null),
    getOr('/api/v1/rules', null),
    getOr('/api/v1/insight/so-far', null),
    getOr('/api/v1/insight/fixed-costs', null),
  ]);
  const recStatus = h('div', { 'aria-live': 'polite' });
  if (!banks || banks.length === 0 || (spending === null && weekly === null && recurring === null)) {
    return { title: t('insight.title'), node: page(t('insight.title'), empty(t('insight.unavailable'), link('/link', { class: 'btn btn-primary' }, t('bank.link.cta')))) };
  }
  const fromIn = h('input', { class: 'input', type: 'date', value: from });
  const toIn = h('input', { class: 'input', type: 'date', value: to });
  const filters = h('form', { class: 'filters' }, field(t('bank.from'), fromIn), field(t('bank.to'), toIn),
    h('button', { type: 'submit', class: 'btn' }, t('bank.apply')));
  filters.addEventListener('submit', (e) => { e.preventDefault(); app.navigate(`/insight${q({ from: fromIn.value, to: toIn.value })}`); });

  const spend = (spending || []).slice().sort((x, y) => y.amount - x.amount);
  // Weeks before the first transaction carry nothing: start the chart at the first busy week.
  const firstBusy = (weekly || []).findIndex((w) => w.spending || w.income || w.balance);
  const weeks = firstBusy < 0 ? [] : weekly.slice(firstBusy);
  const recRows = (recurring || []).map((r) => h('tr', {},
    cell(r.memo, { class: 'memo strong' }),
    cell(t(`insight.dir.${r.direction}`, null) || r.direction),
    cell(t(`insight.period.${r.period}`, null) || t(`insight.period.every.${r.period_unit}`, { n: r.period_count })),
    cell(h('span', {}, won(r.typical_amount), r.min_amount !== r.max_amount ? h('small', { class: 'muted block' }, `${won(r.min_amount)} – ${won(r.max_amount)}`) : null), { class: 'num' }),
    cell(date(r.last_date)),
    cell(r.status === 'active' ? date(r.next_date) : '–'),
    cell(h('span', { class: `badge badge-${r.status}` }, t(`insight.status.${r.status}`, null) || r.status),
      r.source === 'added' ? h('span', { class: 'badge' }, t('insight.series.added')) : null),
    cell(seriesActions(app, r, recStatus))));
  const monthRows = (monthly || []).filter((m) => m.income || m.spending).map((m) => h('tr', {},
    cell(m.partial ? h('span', {}, month(m.month), ' ', h('span', { class: 'badge' }, t('insight.sofar.through', { date: date(m.through) }))) : month(m.month)),
    cell(won(m.income), { class: 'num in' }), cell(won(m.spending), { class: 'num out' }), cell(won(m.net), { class: 'num strong' })));
  return {
    title: t('insight.title'),
    node: page(t('insight.title'), card(null, filters), soFarCard(soFar), fixedCard(fixed),
      h('div', { class: 'grid-2' },
        card(t('insight.byCategory'), h('div', { 'data-testid': 'spending-chart' }, hbarChart({
          caption: t('insight.byCategory'),
          items: spend.map((x) => ({ label: categoryName(cats, x.category), value: x.amount })),
          empty: t('chart.empty'),
        }))),
        card(t('insight.weekly'), h('div', { 'data-testid': 'weekly-chart' }, xyChart({
          caption: t('insight.weekly'),
          labels: weeks.map((w) => shortDate(w.week_start)),
          series: [
            { name: t('insight.spending'), values: weeks.map((w) => w.spending), type: 'bar' },
            { name: t('insight.income'), values: weeks.map((w) => w.income), type: 'bar' },
            { name: t('insight.balance'), values: weeks.map((w) => w.balance), type: 'line' },
          ],
          empty: t('chart.empty'),
        })))),
      monthRows.length ? card(t('insight.monthly'), table(t('insight.monthly'), [t('insight.month'),
        { label: t('insight.income'), num: true }, { label: t('insight.spending'), num: true }, { label: t('insight.net'), num: true }], monthRows)) : null,
      card(t('insight.recurring'), recStatus, recRows.length ? table(t('insight.recurring'), [t('bank.memo'), t('insight.direction'), t('insight.period'),
        { label: t('insight.typical'), num: true }, t('insight.last'), t('insight.next'), t('insight.state'), ''], recRows, { 'data-testid': 'recurring' })
        : empty(t('insight.noRecurring'))),
      upcoming && upcoming.length ? card(t('insight.upcoming'), h('ul', { class: 'upcoming' }, upcoming.map((u) => h('li', {},
        h('span', { class: 'muted' }, date(u.date)), h('span', { class: 'memo' }, u.memo),
        h('strong', { class: u.direction === 'in' ? 'in' : 'out' }, `${u.direction === 'in' ? '+' : '-'}${won(u.amount)}`))))) : null,
      searchCard(app, cats, query, from, to),
      rules ? rulesCard(app, cats, rules) : null),
  };
}
