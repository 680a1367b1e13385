// The history panel: who changed what, newest first.
import { el } from './api.js';

/** changes: newest first; claims: the document's claims, to name a claim by its row. */
export function renderHistory(container, changes, claims = []) {
  const rowOf = new Map(claims.map((c, i) => [c.id, i + 1]));
  if (!changes.length) {
    container.replaceChildren(el('p', { class: 'muted' }, 'No changes yet.'));
    return;
  }
  const rows = changes.map((ch) => el('tr', {},
    el('td', { class: 'nowrap' }, formatTime(ch.at)),
    el('td', {}, el('bdi', {}, ch.annotator ?? '')),
    el('td', {}, ch.action ?? ''),
    el('td', { title: ch.claim_id == null ? '' : `claim id ${ch.claim_id}` },
      ch.claim_id == null ? '' : (rowOf.has(ch.claim_id) ? `#${rowOf.get(ch.claim_id)}` : `id ${ch.claim_id}`)),
    el('td', {}, describe(ch.before, ch.after))));
  container.replaceChildren(el('table', { class: 'history' },
    el('thead', {}, el('tr', {}, ['when', 'who', 'action', 'claim', 'change'].map((h) => el('th', {}, h)))),
    el('tbody', {}, rows)));
}

function formatTime(at) {
  if (!at) return '';
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? String(at) : d.toLocaleString();
}

/** The fields that differ between before and after, one line each. */
function describe(before, after) {
  if (before == null && after == null) return '';
  if (before == null || after == null || typeof before !== 'object' || typeof after !== 'object') {
    return el('span', { class: 'muted' }, short(after ?? before));
  }
  const lines = [];
  for (const [path, a, b] of diff(before, after, '')) {
    lines.push(el('div', {}, el('code', {}, path), ': ', shown(a), ' → ', shown(b)));
  }
  return lines.length ? lines : el('span', { class: 'muted' }, 'no visible change');
}

function diff(a, b, prefix) {
  const out = [];
  const keys = new Set([...Object.keys(a || {}), ...Object.keys(b || {})]);
  for (const k of keys) {
    const x = a ? a[k] : undefined;
    const y = b ? b[k] : undefined;
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    const path = prefix ? `${prefix}.${k}` : k;
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !isSpan(x)) {
      out.push(...diff(x, y, path));
    } else {
      out.push([path, x, y]);
    }
  }
  return out;
}

// A plain span (not a figure, whose value and bounds are compared one by one).
function isSpan(v) {
  return v && typeof v === 'object' && 'text' in v && 'start' in v && !('value' in v);
}

/** A value as elements: span texts isolated, so right-to-left text keeps its order. */
function shown(v) {
  if (v && typeof v === 'object' && 'text' in v && 'start' in v) {
    return el('span', {}, '«', el('bdi', {}, v.text), `» [${v.start}, ${v.end})`);
  }
  if (Array.isArray(v) && v.length) {
    return el('span', {}, v.flatMap((x, i) => (i ? [', ', shown(x)] : [shown(x)])));
  }
  return el('bdi', {}, short(v));
}

function short(v) {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'object' && 'text' in v && 'start' in v) return `«${v.text}» [${v.start}, ${v.end})`;
  if (Array.isArray(v)) return v.map(short).join(', ') || '[]';
  if (typeof v === 'object') {
    const fig = v.figure ? `«${v.figure.text}» ${v.figure.value ?? ''} ` : '';
    return `${fig}${v.category ?? ''} ${v.status ?? ''}`.trim() || JSON.stringify(v).slice(0, 120);
  }
  return String(v);
}
