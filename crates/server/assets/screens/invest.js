// Asset summary (every account, totals, history chart) and an investment account's detail.
import { h, link } from '../dom.js';
import { t } from '../i18n.js';
import { get, getOr } from '../api.js';
import { won, signedWon, percent, date, shortDate, count } from '../format.js';
import { page, card, stat, table, cell, trendClass, empty, notice } from '../ui.js';
import { xyChart, donutChart } from '../charts.js';

function sum(xs) {
  return xs.reduce((a, x) => a + Number(x || 0), 0);
}

/** Several partial markers as one: rows added, the oldest date. */
function mergePartial(list) {
  const parts = list.filter(Boolean);
  if (!parts.length) return null;
  const since = parts.map((p) => p.since).filter(Boolean).sort()[0] || null;
  return { rows: parts.reduce((a, p) => a + p.rows, 0), since };
}

/** The "figures are incomplete" notice: how many rows, and the oldest date of a value shown. */
export function partialNotice(p) {
  if (!p) return null;
  const text = p.since
    ? t('partial.notice', { rows: count(p.rows), date: date(p.since) })
    : t('partial.noticeNoEarlier', { rows: count(p.rows) });
  return notice('info', text, { 'data-testid': 'partial-notice' });
}

/** Under a history chart: the days whose figures were incomplete, as ranges of days in a row. */
function partialDays(points) {
  const ranges = [];
  points.forEach((p, i) => {
    if (!p.partial) return;
    const last = ranges[ranges.length - 1];
    if (last && last.end === i - 1) {
      last.end = i;
      if (p.partial.since && (!last.since || p.partial.since < last.since)) last.since = p.partial.since;
    } else {
      ranges.push({ start: i, end: i, since: p.partial.since });
    }
  });
  if (!ranges.length) return null;
  const shown = ranges.slice(-4).map((r) => {
    const days = r.start === r.end ? shortDate(points[r.start].date)
      : `${shortDate(points[r.start].date)}–${shortDate(points[r.end].date)}`;
    return r.since ? `${days} (${t('partial.valueOf', { date: shortDate(r.since) })})` : days;
  });
  const more = ranges.length > shown.length ? ` ${t('partial.more', { n: count(ranges.length - shown.length) })}` : '';
  return h('p', { class: 'muted partial-days', 'data-testid': 'history-partial' },
    t('partial.history', { days: shown.join(', ') }) + more);
}

function claimPrompt() {
  return h('div', { class: 'empty' }, h('strong', {}, t('summary.claim.title')), h('p', {}, t('summary.claim.body')),
    link('/claim', { class: 'btn btn-primary' }, t('auth.claim')));
}

export async function summary({ app }) {
  const unclaimed = app.me.role === 'customer' && app.me.customer_id === null;
  const [accounts, banks, days] = await Promise.all([
    unclaimed ? [] : get('/api/v1/accounts'),
    getOr('/api/v1/bank/accounts', null),
    get('/api/v1/assets/history'),
  ]);
  // From the first day that has a figure: investments from the daily snapshots, bank accounts
  // from their balances; the last day is today's live total.
  const firstKnown = days.findIndex((d) => d.investments !== null || d.bank !== null);
  const history = firstKnown < 0 ? [] : days.slice(firstKnown);
  const bankList = banks || [];
  const investTotal = sum(accounts.map((a) => a.total_assets));
  const bankTotal = sum(bankList.map((b) => b.balance));
  const asOf = accounts.map((a) => a.as_of).filter(Boolean).sort().pop();
  const partial = mergePartial(accounts.map((a) => a.partial));

  const invest = unclaimed ? claimPrompt() : accounts.length
    ? h('ul', { class: 'account-list', 'data-testid': 'investment-accounts' }, accounts.map((a) => h('li', {},
      link(`/accounts/${a.id}`, { class: 'account-row' },
        h('span', { class: 'account-main' },
          h('span', { class: 'account-name' }, a.account_name),
          h('span', { class: 'account-sub' }, `${a.broker} · ${a.account_number}`),
          a.partial ? h('span', { class: 'badge badge-partial', 'data-testid': 'partial-badge' },
            a.partial.since ? t('partial.badgeSince', { date: date(a.partial.since) }) : t('partial.badge')) : null),
        h('span', { class: 'account-amount' }, won(a.total_assets))))))
    : empty(t('summary.noInvest'));

  const bank = banks === null || bankList.length === 0
    ? empty(t('summary.noBank'), link('/link', { class: 'btn' }, t('bank.link.cta')))
    : h('ul', { class: 'account-list', 'data-testid': 'bank-accounts' }, bankList.map((b) => h('li', {},
      link(`/bank/${b.id}`, { class: 'account-row' },
        h('span', { class: 'account-main' },
          h('span', { class: 'account-name' }, b.account_alias || b.bank_name),
          h('span', { class: 'account-sub' }, `${b.bank_name} · ${b.account_num_masked}`)),
        h('span', { class: 'account-amount' }, b.balance === null ? '–' : won(b.balance))))));

  const chart = xyChart({
    caption: t('summary.chart'),
    labels: history.map((p) => shortDate(p.date)),
    series: [
      { name: t('summary.series.total'), values: history.map((p) => p.total) },
      { name: t('summary.investTotal'), values: history.map((p) => p.investments) },
      { name: t('summary.bankTotal'), values: history.map((p) => p.bank) },
    ],
    empty: t('chart.empty'),
  });

  return {
    title: t('summary.title'),
    node: page(t('summary.title'),
      app.me.customer_name ? h('p', { class: 'lead', 'data-testid': 'greeting' }, t('summary.hello', { name: app.me.customer_name })) : null,
      h('div', { class: 'hero' },
        h('span', { class: 'hero-label' }, t('summary.grandTotal')),
        h('strong', { class: 'hero-value', 'data-testid': 'grand-total' }, won(investTotal + bankTotal)),
        asOf ? h('span', { class: 'hero-sub' }, t('summary.asOf', { date: date(asOf) })) : null),
      partialNotice(partial),
      h('div', { class: 'stats' },
        stat(t('summary.investTotal'), won(investTotal), { testid: 'invest-total' }),
        stat(t('summary.bankTotal'), won(bankTotal), { testid: 'bank-total' })),
      card(t('summary.chart'), chart, partialDays(history)),
      h('div', { class: 'grid-2' },
        card(t('summary.invest'), invest),
        card(t('summary.bank'), bank))),
  };
}

export async function account({ params }) {
  const id = params[0];
  const [a, holdings, alloc, history] = await Promise.all([
    get(`/api/v1/accounts/${id}`),
    get(`/api/v1/accounts/${id}/holdings`),
    get(`/api/v1/accounts/${id}/allocation`),
    get(`/api/v1/accounts/${id}/history`),
  ]);
  const rows = holdings.map((x) => {
    const cash = x.isin === 'CASH';
    return h('tr', { class: cash ? 'cash-row' : '', 'data-isin': x.isin },
      cell(h('span', {}, cash ? t('invest.cash') : x.instrument_name,
        x.stale_since ? h('span', { class: 'badge badge-partial', 'data-testid': 'stale-since' },
          t('partial.valueOf', { date: date(x.stale_since) })) : null), { class: 'strong' }),
      cell(x.asset_group),
      cell(cash ? '–' : count(x.quantity), { class: 'num' }),
      cell(cash ? '–' : won(x.price), { class: 'num' }),
      cell(won(x.valuation), { class: 'num', 'data-testid': cash ? 'cash-valuation' : null }),
      cell(x.isin, { class: 'mono' }));
  });
  return {
    title: a.account_name,
    node: page(a.account_name,
      h('p', { class: 'lead' }, `${a.broker} · ${a.account_number}`,
        a.as_of ? ` · ${t('summary.asOf', { date: date(a.as_of) })}` : ''),
      partialNotice(a.partial),
      a.principal === null ? notice('info', t('invest.principalUnknownReason'), { 'data-testid': 'principal-unknown' }) : null,
      h('div', { class: 'stats stats-4' },
        stat(t('invest.totalAssets'), won(a.total_assets), { testid: 'total-assets' }),
        stat(t('invest.principal'), a.principal === null ? t('invest.unknown')
          : h('span', {}, won(a.principal), a.principal_since
            ? h('small', { class: 'stat-note', 'data-testid': 'principal-since' }, t('partial.valueOf', { date: date(a.principal_since) }))
            : null), { testid: 'principal' }),
        stat(t('invest.profit'), signedWon(a.total_profit), { class: trendClass(a.total_profit), testid: 'profit' }),
        stat(t('invest.return'), percent(a.return_rate), { class: trendClass(a.return_rate), testid: 'return-rate' })),
      h('div', { class: 'actions' }, link(`/deposit?account=${a.id}`, { class: 'btn btn-primary', 'data-testid': 'deposit-link' }, t('deposit.cta'))),
      h('div', { class: 'grid-2' },
        card(t('invest.allocation'), donutChart({
          caption: t('invest.allocation'),
          items: alloc.groups.map((g) => ({ label: g.asset_group, value: g.valuation })),
          centerLabel: t('invest.totalAssets'),
          empty: t('chart.empty'),
        })),
        card(t('invest.history'), xyChart({
          caption: t('invest.history'),
          labels: history.map((p) => shortDate(p.date)),
          series: [
            { name: t('invest.totalAssets'), values: history.map((p) => p.total_assets) },
            { name: t('invest.principal'), values: history.map((p) => p.principal) },
          ],
          empty: t('chart.empty'),
        }), partialDays(history))),
      card(t('invest.holdings'), holdings.length
        ? table(t('invest.holdings'), [t('invest.instrument'), t('invest.group'), { label: t('invest.quantity'), num: true },
          { label: t('invest.price'), num: true }, { label: t('invest.valuation'), num: true }, 'ISIN'], rows, { 'data-testid': 'holdings' })
        : empty(t('invest.noHoldings')))),
  };
}
