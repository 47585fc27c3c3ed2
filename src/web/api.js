// The dashboard's REST client: the token from sign-in (kept in sessionStorage), JSON in and out,
// API errors turned into Error objects carrying the server's message and per-field details.

const KEY = 'orchestrator.token';

export const session = {
  get token() {
    return window.sessionStorage.getItem(KEY);
  },
  set(token) {
    window.sessionStorage.setItem(KEY, token);
  },
  clear() {
    window.sessionStorage.removeItem(KEY);
  },
  role: 'viewer',
  name: '',
};

export class ApiError extends Error {
  /** details: the server's [{ path, message }], e.g. { path: "phases.1.percent", message: "must ..." }. */
  constructor(status, message, code, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
  }
}

export async function api(method, path, { query, body, raw, headers } = {}) {
  const url = new window.URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
  }
  const init = { method, headers: { authorization: `Bearer ${session.token}`, ...(headers ?? {}) } };
  if (raw !== undefined) init.body = raw;
  else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: { message: text } };
  }
  if (!response.ok) {
    if (response.status === 401 && path !== '/api/v1/whoami') window.dispatchEvent(new window.CustomEvent('orchestrator:signed-out'));
    throw new ApiError(response.status, data?.error?.message ?? `${response.status} ${response.statusText}`, data?.error?.code, data?.error?.details);
  }
  return data;
}

/** Roles that may change things. */
export const canOperate = () => session.role === 'operator' || session.role === 'admin';
