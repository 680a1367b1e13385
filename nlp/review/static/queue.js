// The queue: documents with filters, and "next" (the least confident not done).
import { api, docUrl, el, formatNumber, initAnnotatorBox, isTyping, showMessage } from './api.js';

const PAGE = 200;
const langSelect = document.getElementById('filter-lang');
const statusSelect = document.getElementById('filter-status');
let offset = 0;

function readFilters() {
  const q = new URLSearchParams(location.search);
  langSelect.value = q.get('lang') ?? localStorage.getItem('claims.lang') ?? '';
  statusSelect.value = q.get('status') ?? '';
  offset = Number(q.get('offset') || 0);
}

function writeFilters() {
  const q = new URLSearchParams();
  if (langSelect.value) q.set('lang', langSelect.value);
  if (statusSelect.value) q.set('status', statusSelect.value);
  if (offset) q.set('offset', String(offset));
  localStorage.setItem('claims.lang', langSelect.value);
  history.replaceState(null, '', `${location.pathname}${q.toString() ? `?${q}` : ''}`);
}

async function load() {
  writeFilters();
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  if (langSelect.value) q.set('lang', langSelect.value);
  if (statusSelect.value) q.set('status', statusSelect.value);
  try {
    const data = await api(`/api/documents?${q}`);
    render(data);
    showMessage('');
  } catch (err) {
    showMessage(err.message);
  }
}

function render({ total, documents }) {
  const tbody = document.querySelector('#documents tbody');
  tbody.replaceChildren(...documents.map((d) => el('tr', { dataset: { docId: d.id }, class: `doc-status-${d.status}` },
    el('td', {}, el('a', { href: docUrl(d.id) }, el('bdi', {}, d.id))),
    el('td', {}, d.lang ?? ''),
    el('td', {}, el('span', { class: `badge doc-status-${d.status}` }, d.status)),
    el('td', { class: 'num' }, String(d.n_claims ?? '')),
    el('td', { class: 'num' }, formatNumber(d.lowest_confidence)),
    el('td', {}, el('bdi', {}, d.updated_by ?? '')),
    el('td', { class: 'muted' }, d.updated_at ? new Date(d.updated_at).toLocaleString() : ''))));
  if (!documents.length) tbody.append(el('tr', {}, el('td', { colspan: '7', class: 'muted' }, 'No documents match.')));
  const shown = documents.length ? `${offset + 1}–${offset + documents.length} of ` : '';
  document.getElementById('total').textContent = `${shown}${total} document${total === 1 ? '' : 's'}`;
  document.getElementById('prev-page').hidden = offset === 0;
  document.getElementById('next-page').hidden = offset + documents.length >= total;
}

async function next() {
  try {
    const lang = langSelect.value;
    const { id } = await api(`/api/next${lang ? `?lang=${encodeURIComponent(lang)}` : ''}`);
    location.assign(docUrl(id));
  } catch (err) {
    showMessage(err.message, 'info');
  }
}

langSelect.addEventListener('change', () => { offset = 0; load(); });
statusSelect.addEventListener('change', () => { offset = 0; load(); });
document.getElementById('prev-page').addEventListener('click', () => { offset = Math.max(0, offset - PAGE); load(); });
document.getElementById('next-page').addEventListener('click', () => { offset += PAGE; load(); });
document.getElementById('filters').addEventListener('submit', (e) => e.preventDefault());
document.getElementById('next').addEventListener('click', next);
document.addEventListener('keydown', (e) => {
  if (e.key === 'n' && !e.ctrlKey && !e.metaKey && !e.altKey && !isTyping(e)) {
    e.preventDefault();
    next();
  }
});

initAnnotatorBox();
readFilters();
load();
