// Operator pages: the snapshot runs, one run's findings, and the rejects CSV.
import { h, link } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { count, date, dateTime } from '../format.js';
import { page, card, table, cell, empty, stat } from '../ui.js';

const n = (x) => count(x);

export async function runs() {
  const list = await get('/api/v1/batch/runs');
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
      : empty(t('ops.none')))),
  };
}

export async function run({ params }) {
  const id = params[0];
  const [r, f] = await Promise.all([get(`/api/v1/batch/runs/${id}`), get(`/api/v1/batch/runs/${id}/findings`)]);
  const where = (x) => `${x.file} : ${x.line ?? '–'}${x.column ? ` · ${x.column}` : ''}`;
  // A bad day can have many thousands of findings: the page shows the first ones, the CSV all.
  const LIMIT = 500;
  const more = (n) => (n > LIMIT ? h('p', { class: 'muted' }, t('ops.truncated', { shown: LIMIT, total: count(n) })) : null);
  const rejects = f.rejects.slice(0, LIMIT).map((x) => h('tr', {}, cell(where(x), { class: 'mono' }), cell(x.value ?? '', { class: 'memo' }), cell(x.reason)));
  const warnings = f.warnings.slice(0, LIMIT).map((x) => h('tr', {}, cell(where(x), { class: 'mono' }), cell(x.value ?? '', { class: 'memo' }), cell(x.message)));
  return {
    title: t('ops.run', { id }),
    node: page(t('ops.run', { id }),
      h('p', { class: 'lead' }, `${date(r.business_date)} · `, h('span', { class: `badge badge-${r.status}` }, t(`ops.status.${r.status}`, null) || r.status),
        r.error ? ` · ${r.error}` : ''),
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
