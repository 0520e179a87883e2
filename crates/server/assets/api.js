// The JSON API with the session cookie. State-changing requests echo the CSRF cookie in
// X-CSRF-Token; a 401 triggers one refresh (shared by concurrent callers) and one retry.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return '';
}

async function send(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = cookie('ginkgo_csrf');
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
}

let refreshing = null;

/** Exchanges the refresh cookie for a new session; true when that worked. */
export function refresh() {
  if (!refreshing) {
    refreshing = send('POST', '/api/v1/auth/refresh', {})
      .then((r) => r.ok)
      .catch(() => false)
      .finally(() => { setTimeout(() => { refreshing = null; }, 0); });
  }
  return refreshing;
}

async function decode(r) {
  if (r.status === 204) return null;
  const type = r.headers.get('content-type') || '';
  const data = type.includes('json') ? await r.json().catch(() => null) : await r.text();
  if (r.ok) return data;
  const err = data && data.error ? data.error : {};
  throw new ApiError(r.status, err.code || `http_${r.status}`, err.message || r.statusText);
}

/** Calls the API; resolves with the decoded body or rejects with an ApiError. */
export async function api(method, path, body) {
  let r = await send(method, path, body);
  if (r.status === 401 && !path.startsWith('/api/v1/auth/')) {
    if (await refresh()) r = await send(method, path, body);
  }
  if (r.status === 401 && !path.startsWith('/api/v1/auth/')) {
    window.dispatchEvent(new CustomEvent('ginkgo:unauthorized'));
  }
  return decode(r);
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

/** Like get(), but a 404 (a route or feature not there yet) answers `fallback`. */
export async function getOr(path, fallback) {
  try {
    return await get(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return fallback;
    throw e;
  }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
