// Spending categories, shared by the bank and insight screens.
import { getOr } from '../api.js';
import { lang } from '../i18n.js';

let cached = null;

export async function categories() {
  if (!cached) cached = getOr('/api/v1/insight/categories', []).catch(() => []);
  return cached;
}

export function categoryName(list, code) {
  const c = list.find((x) => x.code === code);
  if (!c) return code || '–';
  return lang() === 'ko' ? c.ko : c.en;
}
