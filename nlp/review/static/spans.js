// Pure helpers on code points: the server counts offsets in Unicode code points
// (Python str indices); JavaScript strings count UTF-16 units. Everything here
// works on arrays of code points (Array.from(text)).

export const SPAN_KINDS = ['victims', 'actor', 'source', 'time'];
export const HIGHLIGHT_KINDS = ['figure', 'victims', 'actor', 'source', 'place', 'time'];

export const QUALIFIERS = ['exact', 'at_least', 'more_than', 'approx', 'at_most', 'range', 'vague'];
export const CATEGORIES = ['killed', 'injured', 'displaced', 'missing', 'detained', 'abducted'];
export const VICTIMS_TYPES = ['civilians', 'security_forces', 'combatants', 'unspecified'];

/** Number of code points in a JS string. */
export function cpLen(s) {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

/** The span object the server expects for code points [start, end). */
export function makeSpan(cps, start, end) {
  return { text: cps.slice(start, end).join(''), start, end };
}

const RUN_CHAR = /[\p{Script=Latin}\p{Nd}]/u; // Latin letters and digits of any script
const MARK = /\p{M}/u;
const WORDISH = /[\p{L}\p{M}\p{Nd}]/u;
const LINE_BREAK = /[\n\r\u0085\u2028\u2029]/u;
// Trimmed from the edges of a selection: white space and invisible format characters
// (ZWSP, ZWNJ, ZWJ, LRM, RLM, embeddings, isolates, BOM). Inside a span they are kept.
const EDGE_TRIM = /[\s\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/u;

/**
 * Runs of Latin letters / digits, as [start, end) pairs. A run may contain
 * punctuation and spaces *between* two Latin/digit characters ("Human Rights
 * Watch", "1,200", "١٬٣٨٣", "50-60") so that it is isolated as one left-to-right
 * piece; it never contains a letter of another script or a line break.
 */
export function latinRuns(cps) {
  const runs = [];
  let i = 0;
  while (i < cps.length) {
    if (!RUN_CHAR.test(cps[i])) { i += 1; continue; }
    let end = i + 1;
    let j = i + 1;
    while (j < cps.length) {
      const c = cps[j];
      if (RUN_CHAR.test(c) || (MARK.test(c) && j === end)) { end = j + 1; j += 1; }
      else if (!WORDISH.test(c) && !LINE_BREAK.test(c)) j += 1; // neutral: maybe interior
      else break;
    }
    end = closeBrackets(cps, i, end);
    runs.push([i, end]);
    i = end;
  }
  return runs;
}

const CLOSING = { '(': ')', '[': ']', '{': '}' };

/** A run that opened a bracket takes its closing one too: "(HRW" + ")" stay together. */
function closeBrackets(cps, start, end) {
  const open = [];
  for (let k = start; k < end; k += 1) {
    if (CLOSING[cps[k]]) open.push(CLOSING[cps[k]]);
    else if (open.length && cps[k] === open[open.length - 1]) open.pop();
  }
  while (open.length && cps[end] === open[open.length - 1]) {
    open.pop();
    end += 1;
  }
  return end;
}

/**
 * Cut the text into segments at every highlight boundary and every run boundary.
 * highlights: [{start, end, kind, claim}] (code points).
 * Returns [{start, end, run: index of its Latin run or -1, hl: [highlight...]}].
 */
export function segmentText(cps, highlights) {
  const n = cps.length;
  const cuts = new Set([0, n]);
  const runs = latinRuns(cps);
  for (const [a, b] of runs) { cuts.add(a); cuts.add(b); }
  for (const h of highlights) {
    cuts.add(clamp(h.start, 0, n));
    cuts.add(clamp(h.end, 0, n));
  }
  const sorted = [...cuts].sort((x, y) => x - y);
  const segments = [];
  let r = 0;
  for (let k = 0; k + 1 < sorted.length; k += 1) {
    const start = sorted[k];
    const end = sorted[k + 1];
    if (start === end) continue;
    while (r < runs.length && runs[r][1] <= start) r += 1;
    const run = r < runs.length && runs[r][0] <= start && end <= runs[r][1] ? r : -1;
    const hl = highlights.filter((h) => h.start < end && start < h.end);
    segments.push({ start, end, run, hl });
  }
  return segments;
}

function clamp(x, lo, hi) {
  return Math.max(lo, Math.min(hi, x));
}

/**
 * Normalise a selection given in code points: order the ends, trim white space and
 * invisible characters at the edges, never cut a base letter from its combining
 * marks (the start moves back onto the base, the end moves over trailing marks).
 * Returns {start, end} or null when nothing is left.
 */
export function adjustSelection(cps, a, b) {
  let start = clamp(Math.min(a, b), 0, cps.length);
  let end = clamp(Math.max(a, b), 0, cps.length);
  while (start < end && EDGE_TRIM.test(cps[start])) start += 1;
  while (end > start && EDGE_TRIM.test(cps[end - 1])) end -= 1;
  if (start >= end) return null;
  while (start > 0 && MARK.test(cps[start])) start -= 1;
  while (end < cps.length && MARK.test(cps[end])) end += 1;
  return { start, end };
}

const DIGIT_ZERO = { arabic: 0x0660, persian: 0x06f0 };

/** "745", "١٬٣٨٣", "۷۴۵", "1,200" → integer; anything else → null. */
export function parsePlainNumber(s) {
  let ascii = '';
  for (const ch of s.trim()) {
    const c = ch.codePointAt(0);
    if (c >= DIGIT_ZERO.arabic && c <= DIGIT_ZERO.arabic + 9) ascii += String(c - DIGIT_ZERO.arabic);
    else if (c >= DIGIT_ZERO.persian && c <= DIGIT_ZERO.persian + 9) ascii += String(c - DIGIT_ZERO.persian);
    else if (ch === '٬' || ch === ',') ascii += ',';
    else ascii += ch;
  }
  if (/^\d+$/.test(ascii)) return Number(ascii);
  if (/^\d{1,3}(,\d{3})+$/.test(ascii)) return Number(ascii.replaceAll(',', ''));
  return null;
}

/** Fill low/high from value and qualifier as CLAIMS.md's table says. */
export function applyBounds(figure) {
  const v = figure.value;
  switch (figure.qualifier) {
    case 'exact': figure.low = v; figure.high = v; break;
    case 'at_least': figure.low = v; figure.high = null; break;
    case 'more_than': figure.low = v == null ? null : v + 1; figure.high = null; break;
    case 'approx': figure.low = null; figure.high = null; break;
    case 'at_most': figure.low = null; figure.high = v; break;
    case 'range': figure.low = v; break; // high: the annotator sets it
    case 'vague': figure.value = null; break; // low/high: the annotator sets them
    default: break;
  }
}

/** All highlighted spans of a list of claims, each tagged with kind and claim index. */
export function claimHighlights(claims) {
  const out = [];
  claims.forEach((c, i) => {
    const add = (span, kind) => {
      if (span && Number.isInteger(span.start) && Number.isInteger(span.end)) {
        out.push({ start: span.start, end: span.end, kind, claim: i });
      }
    };
    add(c.figure, 'figure');
    add(c.victims, 'victims');
    add(c.actor, 'actor');
    add(c.source, 'source');
    add(c.time, 'time');
    for (const p of c.places || []) add(p, 'place');
  });
  return out;
}
