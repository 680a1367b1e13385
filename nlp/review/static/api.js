// Talking to the server (see notes/review_api.md) and the bits every page shares:
// the annotator's name, the message area.

const NAME_KEY = 'claims.annotator';

export class ApiError extends Error {
  constructor(status, detail) {
    super(formatDetail(detail));
    this.status = status;
    this.detail = detail;
  }
}

/** FastAPI's detail is a string or a list of {loc, msg}; make it one readable line. */
export function formatDetail(detail) {
  if (detail == null) return 'unknown error';
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => {
      if (d && typeof d === 'object') {
        const loc = Array.isArray(d.loc) ? d.loc.filter((x) => x !== 'body').join('.') : '';
        return loc ? `${loc}: ${d.msg}` : String(d.msg ?? JSON.stringify(d));
      }
      return String(d);
    }).join('; ');
  }
  return JSON.stringify(detail);
}

export function getCookie(name) {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

export function annotatorName() {
  return (localStorage.getItem(NAME_KEY) || '').trim();
}

/** JSON request; throws ApiError carrying the server's detail on a non-2xx answer. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') {
    const name = annotatorName();
    if (!name) throw new ApiError(0, 'Enter your name (annotator) at the top of the page before saving.');
    headers['Content-Type'] = 'application/json';
    headers['X-CSRF-Token'] = getCookie('claims_csrf') || '';
    headers['X-Annotator'] = encodeURIComponent(name);
  }
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `cannot reach the server (${err.message})`);
  }
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text.slice(0, 300) }; }
  }
  if (!resp.ok) throw new ApiError(resp.status, data && data.detail !== undefined ? data.detail : `HTTP ${resp.status}`);
  return data;
}

/** Show a message in #message (role=alert). kind: 'error' | 'ok' | 'info'. */
export function showMessage(text, kind = 'error') {
  const el = document.getElementById('message');
  if (!el) return;
  el.textContent = text || '';
  el.className = text ? `message message-${kind}` : 'message';
  el.hidden = !text;
}

/** Wire the annotator-name box (input#annotator) to localStorage. */
export function initAnnotatorBox() {
  const input = document.getElementById('annotator');
  if (!input) return;
  input.value = annotatorName();
  const mark = () => input.classList.toggle('missing', !input.value.trim());
  mark();
  input.addEventListener('input', () => {
    localStorage.setItem(NAME_KEY, input.value.trim());
    mark();
  });
}

/** The user typing in a form control: single-key shortcuts must not fire. */
export function isTyping(event) {
  const t = event.target;
  if (!(t instanceof Element)) return false;
  return Boolean(t.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]'));
}

export function docUrl(id) {
  return `/documents/${encodeURIComponent(id)}`;
}

export function formatNumber(x, digits = 2) {
  return typeof x === 'number' ? x.toFixed(digits) : '–';
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
