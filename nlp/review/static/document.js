// The document view: text with highlights, the claims table, save / done, shortcuts.
import { api, ApiError, docUrl, el, initAnnotatorBox, isTyping, showMessage } from './api.js';
import { refreshFigureInputs, renderClaims } from './claims-table.js';
import { renderHistory } from './history.js';
import { applyBounds, CATEGORIES, makeSpan, parsePlainNumber } from './spans.js';
import { isRtl, renderText, scrollToOffset, selectionOffsets } from './textview.js';

const $ = (id) => document.getElementById(id);

const state = {
  id: decodeURIComponent(location.pathname.replace(/^\/documents\//, '')),
  doc: null, // the document as the server last returned it
  cps: [], // its text as code points
  claims: [], // the working copy being edited
  selected: -1,
  dirty: false,
  saving: false,
  lastSelection: null, // {start, end}: the last non-empty selection inside the text
  nextArmed: 0,
};

const text = $('text');
const tbody = document.querySelector('#claims tbody');

function clone(x) {
  return JSON.parse(JSON.stringify(x));
}

async function load() {
  showMessage('');
  try {
    const doc = await api(`/api/documents/${encodeURIComponent(state.id)}`);
    setDocument(doc);
  } catch (err) {
    showMessage(err.message);
  }
  loadHistory();
}

function setDocument(doc) {
  state.doc = doc;
  state.cps = Array.from(doc.text);
  state.claims = clone(doc.claims || []);
  if (state.selected >= state.claims.length) state.selected = state.claims.length - 1;
  if (state.selected < 0 && state.claims.length) state.selected = 0;
  state.lastSelection = null;
  const lang = doc.lang || 'und';
  text.lang = lang === 'und' ? '' : lang;
  text.dir = isRtl(lang) ? 'rtl' : 'ltr';
  text.classList.toggle('rtl', isRtl(lang));
  document.title = `${doc.id} · claims review`;
  renderMeta();
  setDirty(false);
  renderAll();
  showSelection();
}

function renderMeta() {
  const d = state.doc;
  $('doc-title').textContent = d.id;
  $('doc-meta').replaceChildren(...[
    el('span', { class: 'badge' }, d.lang || 'und'),
    el('span', { class: `badge doc-status-${d.status}`, dataset: { testid: 'doc-status' } }, d.status),
    el('span', { dataset: { testid: 'doc-version' } }, `version ${d.version}`),
    d.updated_by ? el('span', {}, 'last saved by ', el('bdi', {}, d.updated_by), ` at ${formatTime(d.updated_at)}`) : null,
    metaLink(d.meta),
  ].filter(Boolean));
}

function formatTime(at) {
  const t = new Date(at);
  return Number.isNaN(t.getTime()) ? String(at) : t.toLocaleString();
}

function metaLink(meta) {
  if (!meta || typeof meta.url !== 'string' || !/^https?:\/\//.test(meta.url)) return null;
  return el('a', { href: meta.url, rel: 'noopener noreferrer', target: '_blank' }, 'source article');
}

function renderAll() {
  renderText(text, state.cps, state.claims, state.selected);
  renderClaims(tbody, state.claims, state.selected);
}

function setDirty(dirty) {
  state.dirty = dirty;
  $('dirty').hidden = !dirty;
  document.body.classList.toggle('is-dirty', dirty);
  if (state.doc) document.title = `${dirty ? '• ' : ''}${state.doc.id} · claims review`;
}

function changed({ text: rerenderText = false, table = false } = {}) {
  setDirty(true);
  if (rerenderText) renderText(text, state.cps, state.claims, state.selected);
  if (table) renderClaims(tbody, state.claims, state.selected);
}

// ---- selection -----------------------------------------------------------

function currentSelection() {
  return selectionOffsets(text, state.cps) || state.lastSelection;
}

function showSelection() {
  const s = state.lastSelection;
  const box = $('selection');
  if (!s) {
    box.replaceChildren('Selection: none — select words in the text');
    box.dataset.start = '';
    box.dataset.end = '';
    return;
  }
  box.dataset.start = String(s.start);
  box.dataset.end = String(s.end);
  box.replaceChildren('Selection: «', el('bdi', { dir: 'auto' }, makeSpan(state.cps, s.start, s.end).text),
    `» [${s.start}, ${s.end})`);
}

document.addEventListener('selectionchange', () => {
  if (!state.doc) return;
  const sel = window.getSelection();
  if (!sel || !sel.rangeCount || !text.contains(sel.anchorNode)) return;
  const off = selectionOffsets(text, state.cps);
  state.lastSelection = off; // a click in the text (collapsed) forgets the old one
  showSelection();
});

function needSelection() {
  const s = currentSelection();
  if (!s) showMessage('Select some words in the text first.', 'info');
  return s;
}

function needClaim() {
  if (state.selected < 0 || state.selected >= state.claims.length) {
    showMessage('Select a claim first (click its row, or j / k).', 'info');
    return null;
  }
  return state.claims[state.selected];
}

function consumedSelection() {
  state.lastSelection = null;
  window.getSelection()?.removeAllRanges();
  showSelection();
}

// ---- editing actions -----------------------------------------------------

function selectClaim(i, { scroll = true } = {}) {
  if (!state.claims.length) return;
  state.selected = Math.max(0, Math.min(state.claims.length - 1, i));
  renderAll();
  const row = tbody.querySelector(`tr[data-claim-index="${state.selected}"]`);
  if (scroll && row) row.scrollIntoView({ block: 'nearest' });
  const fig = state.claims[state.selected].figure;
  if (scroll && fig) scrollToOffset(text, fig.start);
}

function setSpan(kind) {
  const claim = needClaim();
  const s = claim && needSelection();
  if (!s) return;
  const span = makeSpan(state.cps, s.start, s.end);
  if (kind === 'figure') Object.assign(claim.figure, span);
  else claim[kind] = span;
  consumedSelection();
  changed({ text: true, table: true });
  showMessage(`${kind} of claim ${state.selected + 1} set to «${span.text}».`, 'ok');
}

function clearSpan(kind) {
  const claim = needClaim();
  if (!claim) return;
  claim[kind] = null;
  changed({ text: true, table: true });
}

function addPlace() {
  const claim = needClaim();
  const s = claim && needSelection();
  if (!s) return;
  const span = makeSpan(state.cps, s.start, s.end);
  claim.places = claim.places || [];
  if (!claim.places.some((p) => p.start === span.start && p.end === span.end)) claim.places.push(span);
  consumedSelection();
  changed({ text: true, table: true });
  showMessage(`Place «${span.text}» added to claim ${state.selected + 1}.`, 'ok');
}

function removePlace(j) {
  const claim = needClaim();
  if (!claim) return;
  claim.places.splice(j, 1);
  changed({ text: true, table: true });
}

function addClaim() {
  const s = needSelection();
  if (!s) return;
  const span = makeSpan(state.cps, s.start, s.end);
  const value = parsePlainNumber(span.text);
  const figure = { ...span, value, low: null, high: null, qualifier: 'exact' };
  applyBounds(figure);
  // A figure can carry one claim per category: offer the first one it does not have yet.
  const taken = new Set(state.claims
    .filter((c) => c.status !== 'rejected' && c.figure.start === figure.start)
    .map((c) => c.category));
  const category = CATEGORIES.find((c) => !taken.has(c)) ?? 'killed';
  state.claims.push({
    id: null, status: 'accepted', origin: 'annotator', figure, category,
    victims_type: 'unspecified', victims: null, actor: null, source: null, places: [],
    time: null, confidence: null, note: null,
  });
  consumedSelection();
  state.selected = state.claims.length - 1;
  changed({ text: true, table: true });
  const row = tbody.querySelector(`tr[data-claim-index="${state.selected}"]`);
  row?.scrollIntoView({ block: 'nearest' });
  if (value == null) row?.querySelector('[data-field="value"]')?.focus();
  showMessage(value == null ? `Claim ${state.selected + 1} added: type its value.` : `Claim ${state.selected + 1} added.`, 'ok');
}

function setStatus(status, i = state.selected) {
  if (i < 0 || i >= state.claims.length) return;
  state.claims[i].status = state.claims[i].status === status ? 'pending' : status;
  state.selected = i;
  changed({ text: true, table: true });
}

function onFieldInput(event) {
  const input = event.target.closest('[data-field]');
  const row = event.target.closest('tr[data-claim-index]');
  if (!input || !row) return;
  const i = Number(row.dataset.claimIndex);
  const claim = state.claims[i];
  const field = input.dataset.field;
  if (i !== state.selected) {
    state.selected = i;
    renderText(text, state.cps, state.claims, state.selected);
    tbody.querySelectorAll('tr.selected').forEach((tr) => tr.classList.remove('selected'));
    row.classList.add('selected');
  }
  if (field === 'value' || field === 'low' || field === 'high') {
    const raw = input.value.trim();
    const num = raw === '' ? null : Number(raw);
    claim.figure[field] = num == null || Number.isNaN(num) ? null : num;
    if (field === 'value') {
      applyBounds(claim.figure);
      refreshFigureInputs(tbody, i, claim.figure);
    }
  } else if (field === 'qualifier') {
    claim.figure.qualifier = input.value;
    applyBounds(claim.figure);
    refreshFigureInputs(tbody, i, claim.figure);
  } else if (field === 'category' || field === 'victims_type') {
    claim[field] = input.value;
  } else if (field === 'note') {
    claim.note = input.value === '' ? null : input.value;
  }
  setDirty(true);
}

tbody.addEventListener('input', onFieldInput);
tbody.addEventListener('change', (e) => { if (e.target.matches('select')) onFieldInput(e); });

// Buttons that act on the text selection must not take it away on mousedown.
document.addEventListener('mousedown', (e) => {
  if (e.target.closest('button[data-action], button.keeps-selection')) e.preventDefault();
});

tbody.addEventListener('click', (event) => {
  const row = event.target.closest('tr[data-claim-index]');
  if (!row) return;
  const i = Number(row.dataset.claimIndex);
  const btn = event.target.closest('button[data-action]');
  if (!btn) {
    if (i !== state.selected && !event.target.closest('input, select')) selectClaim(i, { scroll: false });
    return;
  }
  state.selected = i;
  const { action, kind } = btn.dataset;
  if (action === 'set-span') setSpan(kind);
  else if (action === 'clear-span') clearSpan(kind);
  else if (action === 'add-place') addPlace();
  else if (action === 'remove-place') removePlace(Number(btn.dataset.placeIndex));
  else if (action === 'accept') setStatus('accepted', i);
  else if (action === 'reject') setStatus('rejected', i);
});

// Clicking a highlight (without selecting) selects its claim.
text.addEventListener('click', (event) => {
  const sel = window.getSelection();
  if (sel && !sel.isCollapsed) return;
  const seg = event.target.closest('[data-claims]');
  if (!seg) return;
  const ids = seg.dataset.claims.split(' ').map(Number);
  if (!ids.includes(state.selected)) selectClaim(ids[0], { scroll: true });
});

// ---- saving ----------------------------------------------------------------

async function save(status = 'in_progress') {
  if (!state.doc || state.saving) return;
  state.saving = true;
  $('save').disabled = true;
  $('done').disabled = true;
  try {
    const doc = await api(`/api/documents/${encodeURIComponent(state.id)}`, {
      method: 'PUT',
      body: { version: state.doc.version, claims: state.claims, status },
    });
    setDocument(doc);
    showMessage(status === 'done' ? `Marked done (version ${doc.version}). Press n for the next document.`
      : `Saved (version ${doc.version}).`, 'ok');
    loadHistory();
  } catch (err) {
    // 409 (someone else saved) or 422 (invalid): keep the edits, say why.
    showMessage(err instanceof ApiError && err.status === 409
      ? `${err.message}` : `Not saved: ${err.message}`);
    if (err instanceof ApiError && err.status === 0) $('annotator').focus();
  } finally {
    state.saving = false;
    $('save').disabled = false;
    $('done').disabled = false;
  }
}

async function loadHistory() {
  try {
    const h = await api(`/api/documents/${encodeURIComponent(state.id)}/history`);
    renderHistory($('history-list'), h.changes || [], state.doc ? state.doc.claims : []);
  } catch (err) {
    $('history-list').replaceChildren(`History unavailable: ${err.message}`);
  }
}

async function nextDocument() {
  if (state.dirty && Date.now() - state.nextArmed > 4000) {
    state.nextArmed = Date.now();
    showMessage('Unsaved changes: save first (Ctrl+S), or press n again to leave without saving.', 'info');
    return;
  }
  try {
    const lang = localStorage.getItem('claims.lang') || '';
    const { id } = await api(`/api/next${lang ? `?lang=${encodeURIComponent(lang)}` : ''}`);
    if (id === state.id) {
      showMessage('This is the least confident document not yet done. Mark it done (Ctrl+Enter) first.', 'info');
      return;
    }
    state.dirty = false;
    location.assign(docUrl(id));
  } catch (err) {
    showMessage(err.message, 'info');
  }
}

// ---- keyboard -----------------------------------------------------------------

const KEYS = {
  j: () => selectClaim(state.selected + 1),
  k: () => selectClaim(state.selected - 1),
  a: () => setStatus('accepted'),
  r: () => setStatus('rejected'),
  f: addClaim,
  p: addPlace,
  v: () => setSpan('victims'),
  s: () => setSpan('source'),
  c: () => setSpan('actor'),
  t: () => setSpan('time'),
  n: nextDocument,
  '?': toggleHelp,
};

function toggleHelp(show) {
  const help = $('help');
  help.hidden = typeof show === 'boolean' ? !show : !help.hidden;
}

document.addEventListener('keydown', (event) => {
  if ((event.ctrlKey || event.metaKey) && (event.key === 's' || event.key === 'S')) {
    event.preventDefault();
    save('in_progress');
    return;
  }
  if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') {
    event.preventDefault();
    save('done');
    return;
  }
  if (event.key === 'Escape') { toggleHelp(false); return; }
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event)) return;
  const action = KEYS[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
});

$('save').addEventListener('click', () => save('in_progress'));
$('done').addEventListener('click', () => save('done'));
$('add-claim').addEventListener('click', addClaim);
$('next').addEventListener('click', nextDocument);
$('help-button').addEventListener('click', () => toggleHelp());
$('help-close').addEventListener('click', () => toggleHelp(false));
$('reload').addEventListener('click', () => {
  if (!state.dirty || window.confirm('Discard your unsaved changes and reload?')) load();
});

window.addEventListener('beforeunload', (event) => {
  if (state.dirty) {
    event.preventDefault();
    event.returnValue = '';
  }
});

initAnnotatorBox();
load();
