// Money and dates, in the current language. Won are integers; grouping is done on the digits.
import { lang } from './i18n.js';

export function groupDigits(n) {
  const str = String(Math.trunc(Number(n)));
  const neg = str.startsWith('-');
  const digits = neg ? str.slice(1) : str;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (neg ? '-' : '') + grouped;
}

/** 1234567 → "1,234,567원". */
export function won(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '–';
  return groupDigits(n) + '원';
}

/** A count or quantity, grouped the same way in every language: 1234 → "1,234". */
export function count(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '–';
  return groupDigits(n);
}

/** A signed amount: "+12,000원" / "-3,000원". */
export function signedWon(n) {
  return (Number(n) > 0 ? '+' : '') + won(n);
}

/** Short axis labels: "1.2억원", "350만원" (ko) or "1.2M원" (en), with `digits` significant digits. */
export function compactWon(n, digits = 3) {
  const locale = lang() === 'ko' ? 'ko-KR' : 'en-US';
  return new Intl.NumberFormat(locale, { notation: 'compact', maximumSignificantDigits: digits }).format(n) + '원';
}

/** Compact labels for axis ticks, with just enough digits that no two ticks read the same. */
export function compactWonTicks(values) {
  for (let digits = 3; digits <= 8; digits += 1) {
    const labels = values.map((v) => compactWon(v, digits));
    if (new Set(labels).size === labels.length) return labels;
  }
  return values.map((v) => won(v));
}

export function percent(x) {
  if (x === null || x === undefined) return '–';
  const v = Number(x);
  return (v > 0 ? '+' : '') + v.toFixed(2) + '%';
}

function toDate(d) {
  if (d instanceof Date) return d;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(d));
  if (m) return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(d);
}

/** "2026. 11. 22." in Korean, "Nov 22, 2026" in English. */
export function date(d) {
  if (!d) return '–';
  const dt = toDate(d);
  if (Number.isNaN(dt.getTime())) return String(d);
  return lang() === 'ko'
    ? new Intl.DateTimeFormat('ko-KR').format(dt)
    : new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short', day: 'numeric' }).format(dt);
}

/** Short date for chart axes: "11. 22." / "Nov 22". */
export function shortDate(d) {
  const dt = toDate(d);
  if (Number.isNaN(dt.getTime())) return String(d);
  return lang() === 'ko'
    ? new Intl.DateTimeFormat('ko-KR', { month: 'numeric', day: 'numeric' }).format(dt)
    : new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric' }).format(dt);
}

export function dateTime(ts) {
  if (!ts) return '–';
  const dt = new Date(ts);
  if (Number.isNaN(dt.getTime())) return String(ts);
  return new Intl.DateTimeFormat(lang() === 'ko' ? 'ko-KR' : 'en-US', {
    dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Seoul',
  }).format(dt);
}

/** "2026-11" → "2026년 11월" / "Nov 2026". */
export function month(ym) {
  const m = /^(\d{4})-(\d{2})$/.exec(String(ym));
  if (!m) return String(ym);
  const dt = new Date(Number(m[1]), Number(m[2]) - 1, 1);
  return lang() === 'ko'
    ? new Intl.DateTimeFormat('ko-KR', { year: 'numeric', month: 'long' }).format(dt)
    : new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short' }).format(dt);
}

/** YYYY-MM-DD of a Date, in local time. */
export function isoDay(dt) {
  const p = (x) => String(x).padStart(2, '0');
  return `${dt.getFullYear()}-${p(dt.getMonth() + 1)}-${p(dt.getDate())}`;
}

export function daysAgo(n) {
  const d = new Date();
  d.setDate(d.getDate() - n);
  return isoDay(d);
}
