// Operator pages: the snapshot runs, one run's findings, and the rejects CSV.
import { h, link } from '../dom.js';
import { t } from '../i18n.js';
import { get, post } from '../api.js';
import { count, date, dateTime } from '../format.js';
import { page, card, table, cell, empty, stat, notice, errorText } from '../ui.js';

const n = (x) => count(x);

/** Per account, what is stale: rejected rows, the oldest date shown, the principal, the lines. */
function staleCard(stale) {
  const principal = (a) => (a.principal === 'unknown' ? t('ops.stale.principalUnknown')
    : a.principal === 'carried' ? t('partial.valueOf', { date: date(a.principal_since) }) : t('ops.stale.principalCurrent'));
  const rows = stale.map((a) => h('tr', {},
    cell(a.account_number, { class: 'mono' }),
    cell(`${a.customer_name} · ${a.account_name}`),
    cell(n(a.rejected_rows), { class: 'num' }),
    cell(a.since ? date(a.since) : '–'),
    cell(principal(a)),
    cell(a.stale_lines.length ? a.stale_lines.map((l) => `${l.instrument_name} (${l.isin}) ${t('partial.valueOf', { date: date(l.since) })}`).join(', ') : '–')));
  return card(`${t('ops.stale.title')} (${stale.length})`, rows.length
    ? table(t('ops.stale.title'), [t('ops.stale.account'), t('ops.stale.customer'), { label: t('ops.rejected'), num: true },
      t('ops.stale.since'), t('invest.principal'), t('ops.stale.lines')], rows, { 'data-testid': 'stale-accounts' })
    : empty(t('ops.stale.none')));
}

export async function runs() {
  const [list, stale] = await Promise.all([get('/api/v1/batch/runs'), get('/api/v1/batch/stale-accounts')]);
  const rows = list.map((r) => h('tr', {},
    cell(link(`/operator/runs/${r.id}`, {}, `#${r.id}`)),
    cell(date(r.business_date)),
    cell(h('span', { class: `badge badge-${r.status}` }, t(`ops.status.${r.status}`, null) || r.status)),
    cell(n(r.counts.rows_read), { class: 'num' }),
    cell(n(r.counts.rows_loaded), { class: 'num' }),
    cell(n(r.counts.rows_rejected), { class: 'num' }),
    cell(n(r.counts.warnings), { class: 'num' }),
    cell(r.duration_ms < 1000 ? `${r.duration_ms} ms` : `${(r.duration_ms / 1000).toFixed(1)} s`, { class: 'num' }),
    cell(dateTime(r.started_at))));
  return {
    title: t('ops.runs'),
    node: page(t('ops.runs'), card(null, rows.length ? table(t('ops.runs'), ['ID', t('ops.date'), t('ops.status'),
      { label: t('ops.read'), num: true }, { label: t('ops.loaded'), num: true }, { label: t('ops.rejected'), num: true },
      { label: t('ops.warnings'), num: true }, { label: t('ops.duration'), num: true }, t('ops.started')], rows, { 'data-testid': 'runs' })
      : empty(t('ops.none'))), staleCard(stale)),
  };
}

/** A held run: why, its good rows beside the previous run's, and the release button. */
function heldCard(r, app) {
  if (r.status !== 'held') return null;
  const p = r.previous || {};
  const rows = [
    [t('ops.held.accounts'), r.accounts_loaded, p.accounts],
    [t('ops.held.holdings'), r.counts.holdings_loaded, p.holdings],
    [t('ops.held.instruments'), r.counts.instruments_loaded, p.instruments],
    [t('ops.held.principals'), r.counts.principals_loaded, p.principals],
  ].map(([what, now, before]) => h('tr', {}, cell(what), cell(n(now), { class: 'num' }), cell(n(before), { class: 'num' })));
  const status = h('div', { class: 'form-status', 'aria-live': 'polite', 'data-testid': 'release-status' });
  const button = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'release' }, t('ops.held.release'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.replaceChildren(notice('info', t('ops.held.releasing')));
    try {
      const done = await post(`/api/v1/batch/runs/${r.id}/release`);
      if (done.done) app.navigate(`/operator/runs/${done.run.id}`);
      else status.replaceChildren(notice('info', t('ops.held.stillLoading')));
    } catch (err) {
      status.replaceChildren(notice('error', errorText(err)));
      button.disabled = false;
    }
  });
  return card(t('ops.held.title'),
    h('p', {}, t('ops.held.body')),
    table(t('ops.held.title'), [t('ops.held.goodRows'), { label: t('ops.held.thisRun'), num: true }, { label: t('ops.held.previousRun'), num: true }], rows, { 'data-testid': 'held-counts' }),
    r.released_by
      ? h('p', {}, t('ops.held.releasedBy'), ' ', link(`/operator/runs/${r.released_by}`, {}, `#${r.released_by}`))
      : h('div', { class: 'actions' }, button),
    status);
}

export async function run({ params, app }) {
  const id = params[0];
  const [r, f] = await Promise.all([get(`/api/v1/batch/runs/${id}`), get(`/api/v1/batch/runs/${id}/findings`)]);
  const about = (x) => [x.account_number, x.isin].filter(Boolean).join(' · ');
  const where = (x) => `${x.file} : ${x.line ?? '–'}${x.column ? ` · ${x.column}` : ''}${about(x) ? ` · ${about(x)}` : ''}`;
  // A bad day can have many thousands of findings: the page shows the first ones, the CSV all.
  const LIMIT = 500;
  const more = (n) => (n > LIMIT ? h('p', { class: 'muted' }, t('ops.truncated', { shown: LIMIT, total: count(n) })) : null);
  const rejects = f.rejects.slice(0, LIMIT).map((x) => h('tr', {}, cell(where(x), { class: 'mono' }), cell(x.value ?? '', { class: 'memo' }), cell(x.reason)));
  const warnings = f.warnings.slice(0, LIMIT).map((x) => h('tr', {}, cell(where(x), { class: 'mono' }), cell(x.value ?? '', { class: 'memo' }), cell(x.message)));
  return {
    title: t('ops.run', { id }),
    node: page(t('ops.run', { id }),
      h('p', { class: 'lead' }, `${date(r.business_date)} · `, h('span', { class: `badge badge-${r.status}` }, t(`ops.status.${r.status}`, null) || r.status),
        r.error && r.status !== 'held' ? ` · ${r.error}` : ''),
      heldCard(r, app),
      r.releases ? h('p', {}, t('ops.releases'), ' ', link(`/operator/runs/${r.releases}`, {}, `#${r.releases}`)) : null,
      r.replaced ? notice('info', t('ops.replaced', {
        id: r.replaced.replaced_run, added: n(r.replaced.accounts_added),
        removed: n(r.replaced.accounts_removed), changed: n(r.replaced.accounts_changed),
      }), { 'data-testid': 'replaced' }) : null,
      h('div', { class: 'stats stats-4' },
        stat(t('ops.read'), n(r.counts.rows_read)), stat(t('ops.loaded'), n(r.counts.rows_loaded)),
        stat(t('ops.rejected'), n(r.counts.rows_rejected)), stat(t('ops.warnings'), n(r.counts.warnings))),
      h('div', { class: 'actions' },
        h('a', { class: 'btn', href: `/api/v1/batch/runs/${id}/rejects.csv`, download: `run-${id}-rejects.csv` }, t('ops.download')),
        link('/operator/runs', { class: 'btn btn-ghost' }, t('ops.back'))),
      card(t('ops.files'), h('ul', { class: 'files' }, r.files.map((x) => h('li', {}, h('strong', {}, x.name), ' ',
        h('span', { class: 'muted mono' }, `${n(x.bytes)} B · sha256 ${x.sha256.slice(0, 16)}…`))))),
      card(`${t('ops.rejects')} (${f.rejects.length})`, rejects.length ? table(t('ops.rejects'), [t('ops.where'), t('ops.value'), t('ops.reason')], rejects) : empty(t('ops.noRejects')), more(f.rejects.length)),
      card(`${t('ops.warningsTitle')} (${f.warnings.length})`, warnings.length ? table(t('ops.warningsTitle'), [t('ops.where'), t('ops.value'), t('ops.reason')], warnings) : empty(t('ops.noWarnings')), more(f.warnings.length))),
  };
}
