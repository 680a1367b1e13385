// The document text as segment elements, and DOM selection → code-point offsets.
import { adjustSelection, claimHighlights, cpLen, segmentText } from './spans.js';

const RTL_LANGS = new Set(['ar', 'fa', 'ur', 'he', 'ps', 'ckb', 'yi']);

export function isRtl(lang) {
  return RTL_LANGS.has(String(lang || '').toLowerCase());
}

/**
 * Render text into container: one element per segment, each with data-start /
 * data-end (code points). Latin/digit runs are <bdi dir="ltr">; when a highlight
 * boundary cuts a run, the run is one <bdi> holding <span> segments, so the pieces
 * of a Latin name or number stay in order inside right-to-left text.
 * The text is set with textContent only: markup in an article is shown, never run.
 */
export function renderText(container, cps, claims, selected) {
  const highlights = claimHighlights(claims);
  const segments = segmentText(cps, highlights);
  const frag = document.createDocumentFragment();
  let k = 0;
  while (k < segments.length) {
    const seg = segments[k];
    if (seg.run < 0) {
      frag.append(segmentElement('span', seg, cps, claims, selected));
      k += 1;
      continue;
    }
    let m = k;
    while (m < segments.length && segments[m].run === seg.run) m += 1;
    if (m - k === 1) {
      const el = segmentElement('bdi', seg, cps, claims, selected);
      el.dir = 'ltr';
      frag.append(el);
    } else {
      const wrap = document.createElement('bdi');
      wrap.dir = 'ltr';
      wrap.className = 'run';
      for (let q = k; q < m; q += 1) wrap.append(segmentElement('span', segments[q], cps, claims, selected));
      frag.append(wrap);
    }
    k = m;
  }
  container.replaceChildren(frag);
}

function segmentElement(tag, seg, cps, claims, selected) {
  const el = document.createElement(tag);
  el.className = 'seg';
  el.dataset.start = String(seg.start);
  el.dataset.end = String(seg.end);
  el.textContent = cps.slice(seg.start, seg.end).join('');
  if (seg.hl.length) {
    const kinds = new Set(seg.hl.map((h) => h.kind));
    const idx = [...new Set(seg.hl.map((h) => h.claim))];
    for (const kind of kinds) el.classList.add('hl', `hl-${kind}`);
    el.dataset.claims = idx.join(' ');
    if (seg.hl.some((h) => h.claim === selected)) el.classList.add('hl-sel');
    if (idx.every((i) => claims[i].status === 'rejected')) el.classList.add('hl-rejected');
    el.title = seg.hl.map((h) => `claim ${h.claim + 1}: ${h.kind}`).join('\n');
  }
  return el;
}

/** Code-point offset of a DOM boundary point (text node or element container). */
export function boundaryOffset(container, node, offset, length) {
  const whole = document.createRange();
  whole.selectNodeContents(container);
  if (!container.contains(node)) {
    return whole.comparePoint(node, offset) < 0 ? 0 : length;
  }
  if (node.nodeType === Node.TEXT_NODE) {
    const seg = node.parentElement && node.parentElement.closest('[data-start]');
    if (seg && container.contains(seg)) {
      return Number(seg.dataset.start) + cpLen(node.data.slice(0, offset));
    }
  }
  // An element container (or a stray text node): the first segment that starts at
  // or after the point gives the offset; none means the end of the text.
  const point = document.createRange();
  point.setStart(node, offset);
  point.collapse(true);
  for (const seg of container.querySelectorAll('[data-start]')) {
    if (point.comparePoint(seg, 0) >= 0) return Number(seg.dataset.start);
  }
  return length;
}

/**
 * The current DOM selection as normalised code-point offsets into the text,
 * or null when it is collapsed or outside container.
 */
export function selectionOffsets(container, cps) {
  const sel = window.getSelection();
  if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
  const range = sel.getRangeAt(0);
  const whole = document.createRange();
  whole.selectNodeContents(container);
  if (range.compareBoundaryPoints(Range.END_TO_START, whole) >= 0) return null; // after the text
  if (range.compareBoundaryPoints(Range.START_TO_END, whole) <= 0) return null; // before it
  const a = boundaryOffset(container, sel.anchorNode, sel.anchorOffset, cps.length);
  const b = boundaryOffset(container, sel.focusNode, sel.focusOffset, cps.length);
  return adjustSelection(cps, a, b);
}

/** Scroll the segment holding code point start into view. */
export function scrollToOffset(container, start) {
  for (const seg of container.querySelectorAll('[data-start]')) {
    if (Number(seg.dataset.end) > start) {
      seg.scrollIntoView({ block: 'nearest' });
      return;
    }
  }
}
