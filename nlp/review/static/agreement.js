// /api/agreement rendered generically: objects whose values are numbers become
// tables of field → number; nested objects become sub-sections; lists of objects
// become tables with one column per key.
import { api, el, showMessage } from './api.js';

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isScalar = (v) => v === null || ['number', 'string', 'boolean'].includes(typeof v);

function formatValue(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(3);
  return String(v);
}

function humanize(key) {
  return String(key).replaceAll('_', ' ');
}

/** Render value under a heading of the given depth. */
function section(key, value, depth) {
  const h = el(`h${Math.min(depth, 6)}`, {}, humanize(key));
  return el('section', { class: 'agreement-section', dataset: { key: String(key) } }, h, render(value, depth + 1));
}

function render(value, depth) {
  if (isScalar(value)) return el('p', {}, formatValue(value));
  if (Array.isArray(value)) return listTable(value, depth);
  const entries = Object.entries(value);
  const scalars = entries.filter(([, v]) => isScalar(v));
  const nested = entries.filter(([, v]) => !isScalar(v));
  const parts = [];
  // Sibling objects of numbers with the same fields (precision/recall/f1 of claims and of
  // figures) share one table, a row each; any other object gets its own section.
  const flat = (v) => isObject(v) && Object.values(v).every(isScalar);
  const signature = (v) => Object.keys(v).join('\u0000');
  const done = new Set();
  for (const [k, v] of nested) {
    if (done.has(k)) continue;
    const same = flat(v) ? nested.filter(([k2, v2]) => flat(v2) && signature(v2) === signature(v)) : [];
    if (same.length > 1) {
      same.forEach(([k2]) => done.add(k2));
      parts.push(matrix(same));
    } else {
      parts.push(section(k, v, depth));
    }
  }
  if (scalars.length) {
    parts.unshift(el('table', { class: 'agreement' },
      el('tbody', {}, scalars.map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, humanize(k)), el('td', { class: 'num' }, formatValue(v)))))));
  }
  return el('div', {}, parts);
}

function matrix(entries) {
  const cols = Object.keys(entries[0][1]);
  return el('table', { class: 'agreement' },
    el('thead', {}, el('tr', {}, el('th', {}, ''), cols.map((c) => el('th', {}, humanize(c))))),
    el('tbody', {}, entries.map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, humanize(k)),
      cols.map((c) => el('td', { class: 'num' }, formatValue(v[c])))))));
}

function listTable(list, depth) {
  if (!list.length) return el('p', { class: 'muted' }, 'none');
  if (!list.every(isObject)) return el('p', {}, list.map(formatValue).join(', '));
  const cols = [...new Set(list.flatMap((o) => Object.keys(o)))];
  return el('table', { class: 'agreement' },
    el('thead', {}, el('tr', {}, cols.map((c) => el('th', {}, humanize(c))))),
    el('tbody', {}, list.map((o) => el('tr', {}, cols.map((c) => el('td', {},
      isScalar(o[c]) ? formatValue(o[c]) : render(o[c], depth + 1)))))));
}

async function main() {
  try {
    const data = await api('/api/agreement');
    const root = document.getElementById('agreement');
    root.replaceChildren(...(isObject(data) ? Object.entries(data).map(([k, v]) => section(k, v, 2)) : [render(data, 2)]));
  } catch (err) {
    showMessage(err.message);
  }
}

main();
