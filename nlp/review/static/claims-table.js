// The editable claims table: one <tr data-claim-index=i> per claim.
import { el, formatNumber } from './api.js';
import { CATEGORIES, QUALIFIERS, SPAN_KINDS, VICTIMS_TYPES } from './spans.js';

const KEY_FOR = { victims: 'v', actor: 'c', source: 's', time: 't' };

export function renderClaims(tbody, claims, selected) {
  tbody.replaceChildren(...claims.map((c, i) => renderRow(c, i, i === selected)));
  if (!claims.length) {
    tbody.append(el('tr', { class: 'empty' },
      el('td', { colspan: '16' }, 'No claims. Select a figure in the text and press f (add claim).')));
  }
}

function renderRow(c, i, isSelected) {
  const fig = c.figure || {};
  const tr = el('tr', {
    class: `claim status-${c.status}${isSelected ? ' selected' : ''}`,
    dataset: { claimIndex: String(i), testid: `claim-${i}` },
    'aria-selected': isSelected ? 'true' : 'false',
  });
  tr.append(
    el('td', { class: 'num' }, `${i + 1}`, el('small', { class: 'origin' }, c.origin === 'annotator' ? ' +' : '')),
    el('td', { class: 'span-cell', dataset: { span: 'figure' } }, spanText(fig),
      button('set', 'set-span', 'figure', 'Set the figure from the selection')),
    el('td', {}, numberInput('value', fig.value)),
    el('td', {}, numberInput('low', fig.low)),
    el('td', {}, numberInput('high', fig.high)),
    el('td', {}, selectInput('qualifier', QUALIFIERS, fig.qualifier)),
    el('td', {}, selectInput('category', CATEGORIES, c.category)),
    el('td', {}, selectInput('victims_type', VICTIMS_TYPES, c.victims_type)),
    ...SPAN_KINDS.filter((k) => k !== 'time').map((k) => spanCell(k, c[k])),
    placesCell(c.places || []),
    spanCell('time', c.time),
    el('td', { class: 'status-cell' },
      el('span', { class: `badge status-${c.status}`, dataset: { field: 'status' } }, c.status),
      button('Accept', 'accept', null, 'Accept this claim (a)'),
      button('Reject', 'reject', null, 'Reject this claim (r)')),
    el('td', { class: 'confidence', dataset: { field: 'confidence' } }, formatNumber(c.confidence)),
    el('td', {}, el('input', { type: 'text', class: 'note', dataset: { field: 'note' }, value: c.note || '', placeholder: 'note', 'aria-label': 'note' })),
  );
  return tr;
}

function spanText(span) {
  if (!span) return el('span', { class: 'span-text none' }, '—');
  return el('bdi', { class: 'span-text', dir: 'auto', title: `[${span.start}, ${span.end})` }, span.text);
}

function spanCell(kind, span) {
  return el('td', { class: 'span-cell', dataset: { span: kind } }, spanText(span),
    button('set', 'set-span', kind, `Set ${kind} from the selection (${KEY_FOR[kind]})`),
    span ? button('×', 'clear-span', kind, `Clear ${kind}`) : null);
}

function placesCell(places) {
  return el('td', { class: 'places-cell', dataset: { span: 'places' } },
    places.map((p, j) => el('span', { class: 'chip', dataset: { placeIndex: String(j) } },
      el('bdi', { dir: 'auto', title: `[${p.start}, ${p.end})` }, p.text),
      button('×', 'remove-place', null, 'Remove this place', { placeIndex: String(j) }))),
    button('+ place', 'add-place', null, 'Add the selection as a place (p)'));
}

function button(label, action, kind, title, extra = {}) {
  const b = el('button', { type: 'button', class: `small act-${action}`, title, dataset: { action, ...(kind ? { kind } : {}), ...extra } }, label);
  return b;
}

function numberInput(field, value) {
  const input = el('input', { type: 'number', step: '1', class: 'number', dataset: { field }, 'aria-label': field });
  input.value = value == null ? '' : String(value);
  return input;
}

function selectInput(field, options, current) {
  const opts = options.includes(current) || current == null ? options : [current, ...options];
  const select = el('select', { dataset: { field }, 'aria-label': field },
    opts.map((o) => el('option', { value: o }, o)));
  select.value = current ?? '';
  return select;
}

/** Refresh the bound inputs of row i after a rule changed them. */
export function refreshFigureInputs(tbody, i, figure) {
  const tr = tbody.querySelector(`tr[data-claim-index="${i}"]`);
  if (!tr) return;
  for (const field of ['value', 'low', 'high']) {
    const input = tr.querySelector(`[data-field="${field}"]`);
    const v = figure[field];
    if (document.activeElement !== input || field !== 'value') input.value = v == null ? '' : String(v);
  }
}
