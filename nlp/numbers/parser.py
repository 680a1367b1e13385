"""The shared number engine: the same code reads every language, from its lexicon.

Three steps over the normalised text:
1. tokens (digits, letter runs, single symbols), with Arabic/Persian conjunction clitics
   split off number words (وخمسة -> و + خمسة);
2. number cores: the longest run of tokens that spells one number (35 bin 418,
   ثلاثمائة وخمسة وأربعون, 1.5 million), valued with a place-value grammar;
3. patterns around cores (qualifiers, ranges, dates, percentages, ...), the longest
   match winning, and vague quantities (hundreds, صدها).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from nlp.numbers.lexicon import NumberLexicon, Pattern, Word


@dataclass(frozen=True)
class Tok:
    text: str
    start: int  # offsets in the normalised text
    end: int
    glued: bool  # no space before it
    digits: bool


@dataclass(frozen=True)
class Core:
    start: int  # token indices, end exclusive
    end: int
    value: float
    ordinal: bool = False
    negative: bool = False
    plain_digits: bool = False  # one token of bare digits (a year candidate)
    kind: str | None = None  # a kind the number's own form gives (يومين: two days)


@dataclass(frozen=True)
class Match:
    start: int
    end: int  # token index after the match
    text_start: int  # token indices of the figure's own text: without a trailing {noun},
    text_end: int  # or only the numbers for patterns whose span is "number"
    cores: tuple[Core, ...]
    pattern: Pattern | None


def tokenize(lex: NumberLexicon, text: str) -> list[Tok]:
    raw: list[Tok] = []
    prev_end = -1
    for m in lex.token_re.finditer(text):
        piece, start = m.group(0), m.start()
        raw.append(Tok(piece, start, m.end(), start == prev_end, piece[-1].isdecimal()))
        prev_end = m.end()
    if not lex.connector_prefixes:
        return raw
    toks: list[Tok] = []
    for k, tok in enumerate(raw):
        split = 0 if tok.digits else _split_clitic(lex, raw, k)
        if split:
            toks.append(Tok(tok.text[:split], tok.start, tok.start + split, tok.glued, False))
            toks.append(Tok(tok.text[split:], tok.start + split, tok.end, True, False))
        else:
            toks.append(tok)
    return toks


def _split_clitic(lex: NumberLexicon, raw: list[Tok], k: int) -> int:
    """Length of a conjunction clitic to split off raw[k] (وخمسة -> و + خمسة). A token that
    is a number word itself (واحد, written like وأحد once hamza is normalised) is split
    only where the rest runs on into the next word (وأحد عشر) after no other و."""
    piece = raw[k].text
    for prefix in lex.connector_prefixes:
        rest = piece[len(prefix) :]
        if not (piece.startswith(prefix) and rest):
            continue
        if not (lex.segments(rest) or lex.dual_kind(rest) or lex.strip_suffix(rest)
                or rest in lex.by_first_token):  # وعشرات, ونحو 300
            continue
        if lex.segments(piece):
            runs_on = k + 1 < len(raw) and lex.segments(raw[k + 1].text) is not None
            after_connector = k > 0 and raw[k - 1].text in lex.connectors
            if not runs_on or after_connector:
                continue
        return len(prefix)
    return 0


_MAX_DIGITS = 15  # beyond this a digit string is an identifier, not a quantity


def parse_digits(lex: NumberLexicon, s: str) -> float | None:
    """'1,084' -> 1084, Turkish '5.034.439' -> 5034439, '2,5' -> 2.5, '.0012' -> 0.0012;
    None for what is not one number (a 1.2.3 version, a 40-digit identifier)."""
    if sum(ch.isdigit() for ch in s) > _MAX_DIGITS:
        return None
    if s[0] in ".,":
        return float("0." + s[1:])
    marks = [ch for ch in s if not ch.isdigit()]
    if not marks:
        return float(int(s))
    groups = _split_marks(s)
    if len(set(marks)) == 1 and marks[0] in lex.group_marks and _grouped(groups):
        return float(int("".join(groups)))
    # last mark as decimal point; what precedes it must be a plain or grouped integer
    last = max(s.rfind(m) for m in set(marks))
    head, tail = s[:last], s[last + 1 :]
    head_marks = {ch for ch in head if not ch.isdigit()}
    if head_marks and (head_marks - set(lex.group_marks) or s[last] in head_marks
                       or not _grouped(_split_marks(head))):
        return None
    if s[last] not in lex.decimal_marks and _grouped(groups) and len(set(marks)) == 1:
        return None  # a group mark used as grouping: handled above
    return float(int("".join(_split_marks(head)) or "0")) + float("0." + tail)


def _split_marks(s: str) -> list[str]:
    out, cur = [], ""
    for ch in s:
        if ch.isdigit():
            cur += ch
        else:
            out.append(cur)
            cur = ""
    out.append(cur)
    return out


def _grouped(groups: list[str]) -> bool:
    return 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


class _State:
    """Place-value accumulation: total of closed scale groups plus the open group."""

    def __init__(self) -> None:
        self.total = 0.0
        self.group = 0.0
        self.last_scale = math.inf
        self.decimals = 0  # > 0 after a "point" word: the next units are decimal digits
        self.ordinal = False
        self.negative = False
        self.last_role = ""
        self.zero = False

    def value(self) -> float:
        v = self.total + self.group
        return -v if self.negative else v

    def add(self, v: float, lex: NumberLexicon, after_connector: bool) -> bool:
        if self.decimals:
            if not (0 <= v <= 9 and v == int(v)):
                return False
            self.group += v / 10**self.decimals
            self.decimals += 1
            return True
        if self.group != int(self.group) or self.zero:
            return False
        if (lex.colloquial_hundreds and not after_connector and self.last_role == "add"
                and 1 <= self.group <= 9 and v in range(20, 100, 10)):
            self.group = self.group * 100 + v  # "one twenty two" = 122
            return True
        if v >= 1000 or v != int(v) or _overlap(int(self.group), int(v)):
            return False
        self.group += v
        self.zero = v == 0  # nothing follows a zero word (Turkish "hiç bir" is not 1)
        return True

    def multiply(self, m: float) -> bool:
        if self.group >= 1000 or self.decimals:
            return False
        self.group = (self.group or 1) * m
        return True

    def scale(self, s: float) -> bool:
        if s >= self.last_scale:
            if self.group == 0 and self.total > 0:  # "three thousand millions"
                self.total *= s
                self.last_scale = s
                return True
            return False
        self.total += (self.group or 1) * s
        self.group, self.decimals = 0.0, 0
        self.last_scale = s
        return True

    def _fraction(self, f: float) -> bool:
        """üç buçuk (3.5), دو میلیون و نیم (2.5 million), نیم میلیون (half a million)."""
        if self.group and self.group == int(self.group):
            self.group += f
        elif not self.group and self.total and self.last_scale != math.inf:
            self.total += f * self.last_scale
        elif not self.group and not self.total:
            self.group = f
        else:
            return False
        return True

    def apply(self, word: Word, lex: NumberLexicon, after_connector: bool) -> bool:
        ok = False
        if word.role == "add":
            ok = self.add(word.value, lex, after_connector)
        elif word.role == "mul":
            # "three hundred", or a hundred on its own after a connector (هزار و صد)
            ok = (not after_connector or self.group == 0) and self.multiply(word.value)
        elif word.role == "scale":
            ok = self.scale(word.value)
        elif word.role == "dual":
            # Arabic ألفين / ألفا: two thousand on its own, but after a number the same
            # letters (without their case endings) are the scale: خمسة وثلاثون ألفاً
            if self.group:
                ok = self.scale(word.scale)
            else:
                ok = word.scale < self.last_scale
                if ok:
                    self.total += word.value
                    self.last_scale = word.scale
        elif word.role == "frac":
            ok = self._fraction(word.value)
        elif word.role == "conn":
            ok = True
        elif word.role == "point":
            ok = self.group > 0 and self.group == int(self.group) and not self.decimals
            self.decimals = 1 if ok else self.decimals
        if ok:
            self.ordinal = word.ordinal
            self.last_role = word.role
        return ok


def _overlap(group: int, v: int) -> bool:
    """Whether v would write over a digit the group already has (twenty twenty)."""
    while group and v:
        if group % 10 and v % 10:
            return True
        group, v = group // 10, v // 10
    return False


def parse_core(lex: NumberLexicon, toks: list[Tok], i: int, whole: bool) -> Core | None:
    """The longest run of tokens from i that spells one number."""
    state = _State()
    j, end, strong, seen_digits = i, i, False, False
    after_connector, connector_at = False, i
    restart: tuple[_State, int] | None = None
    first = lex.words.get(toks[i].text)
    if first is not None and first.role == "neg":
        state.negative = True
        j += 1
    if j < len(toks) and j == i and not toks[j].digits:
        dual = lex.dual_kind(toks[j].text)
        if dual is not None:
            return Core(i, i + 1, 2.0, kind=dual)
    while j < len(toks) and not state.ordinal:
        tok = toks[j]
        if tok.digits:
            value = parse_digits(lex, tok.text)
            joins_group = state.group == 0 or after_connector
            if value is None or (seen_digits and state.last_role != "scale") or not joins_group:
                break
            if value == int(value) and state.group and not state.add(value, lex, True):
                break
            if not state.group:
                state.group = value
            state.last_role, strong, seen_digits = "digits", True, True
            j += 1
            end, after_connector = j, False
            nxt = toks[j] if j < len(toks) else None
            if nxt is not None and nxt.glued and nxt.text in lex.glued_scales:
                if not state.scale(lex.glued_scales[nxt.text]):
                    break
                j += 1
                end = j
            continue
        if tok.text in lex.connectors and end > i and not after_connector:
            only_after_scale = lex.connectors[tok.text] == "scale"
            if state.last_role in ("digits", "") or (
                    only_after_scale and state.last_role not in ("scale", "mul")):
                break
            after_connector, connector_at = True, j
            j += 1
            continue
        if state.last_role == "digits" and tok.text in lex.weak:
            break  # "7:30 a.m.": digits and a weak word ("a", "bir") never make one number
        words = lex.segments(tok.text)
        suffixed = False
        if words is None:
            stem = lex.strip_suffix(tok.text)
            words, suffixed = ([stem], True) if stem is not None else (None, False)
        if words is None or any(w.role == "neg" for w in words):
            break
        if after_connector and state.group == 0 and state.total:
            # a new group after "thousand and": if a scale that cannot follow ends it,
            # it was the next number (ألفين وثلاثة آلاف = 2000 and 3000, not 2003)
            restart = (copy.copy(state), connector_at)
        trial = copy.copy(state)
        if not all(trial.apply(w, lex, after_connector) for w in words):
            if restart is not None and any(w.role in ("scale", "dual") for w in words):
                state, end = restart
            break
        state = trial
        strong = strong or tok.text not in lex.weak
        j += 1
        end, after_connector = j, False
        if suffixed:  # a case suffix closes the number (binden fazla)
            break
    if end == i or (state.negative and end == i + 1):
        return None
    if not strong and not whole:
        return None
    only = toks[i] if end == i + 1 else None
    plain = only is not None and only.digits and only.text.isdigit()
    return Core(i, end, state.value(), state.ordinal, state.negative, plain)


class Matcher:
    """Finds the figures of one text: longest pattern match at each token, else a core."""

    def __init__(self, lex: NumberLexicon, toks: list[Tok], whole: bool) -> None:
        self.lex, self.toks, self.whole = lex, toks, whole
        self._cores: dict[tuple[int, bool], Core | None] = {}

    def core(self, i: int, weak_ok: bool = False) -> Core | None:
        """The number starting at token i; `weak_ok` also accepts one made of weak words
        only (for patterns whose context makes them numbers: نه نفر, nine people)."""
        key = (i, weak_ok or self.whole)
        if key not in self._cores:
            self._cores[key] = parse_core(self.lex, self.toks, i, key[1]) \
                if i < len(self.toks) else None
        return self._cores[key]

    def matches(self) -> list[Match]:
        out: list[Match] = []
        i = 0
        while i < len(self.toks):
            best = self.best_at(i)
            if best is None:
                i += 1
                continue
            out.append(best)
            i = best.end
        return out

    def candidates(self, i: int) -> list[Pattern]:
        """Patterns that can start at token i: by their first literal, or a number here."""
        by_token, numeric = self.lex.by_first_token, self.lex.number_first
        found = by_token.get(self.toks[i].text, [])
        if self.core(i, weak_ok=True) is not None:
            found = found + numeric
        return found

    def best_at(self, i: int) -> Match | None:
        best: Match | None = None
        for pattern in self.candidates(i):
            if pattern.weak and not self.whole:
                continue
            m = self._match(pattern, i)
            if m is not None and (best is None or m.end > best.end):
                best = m
        core = self.core(i)
        if core is not None and (best is None or core.end > best.end):
            best = Match(i, core.end, i, core.end, (core,), None)
        return best

    def _match(self, pattern: Pattern, i: int) -> Match | None:
        j, text_end = i, -1
        cores: list[Core] = []
        toks = self.toks
        for element in pattern.elements:
            if isinstance(element, tuple):
                if j >= len(toks) or toks[j].text != element[0]:
                    return None
                j += 1
            elif element in ("n", "y"):
                core = self.core(j, pattern.weak_numbers)
                if core is None or (element == "y" and not self._year(core)) or (
                        core.ordinal and pattern.kind != "ordinal"):
                    return None
                cores.append(core)
                j = core.end
            elif element == "noun":
                if j >= len(toks) or toks[j].digits or not toks[j].text.isalpha():
                    return None
                text_end = j if text_end < 0 else text_end
                j += 1
            elif element == "sfx":
                if j + 1 < len(toks) and toks[j].text in "'’" and toks[j + 1].glued \
                        and toks[j + 1].text.isalpha():
                    j += 2
            else:
                j = self._phrase(element, j)
                if j < 0:
                    return None
        if j == i or (pattern.kind == "time" and not _clock(cores)):
            return None
        if pattern.number_only and cores:
            return Match(i, j, cores[0].start, cores[-1].end, tuple(cores), pattern)
        return Match(i, j, i, j if text_end < 0 else text_end, tuple(cores), pattern)

    def _phrase(self, slot: str, j: int) -> int:
        """End of the longest phrase of `slot` starting at token j, or -1."""
        if j >= len(self.toks):
            return -1
        for phrase in self.lex.slot_index(slot).get(self.toks[j].text, ()):
            if tuple(t.text for t in self.toks[j : j + len(phrase)]) == phrase:
                return j + len(phrase)
        return -1

    def _year(self, core: Core) -> bool:
        low, high = self.lex.year_range
        return core.plain_digits and len(self.toks[core.start].text) == 4 and \
            low <= core.value <= high


def _clock(cores: list[Core]) -> bool:
    """A clock time is written in digits, hours up to 24 and minutes up to 59 ("12:30"),
    so "thirty-eight: 19 fighters" is a count and a list, not a time."""
    if len(cores) != 2:
        return True  # "0600 GMT", "saat 14.00": the pattern's own cue says it is a time
    limits = (24, 59)
    return all(c.plain_digits and c.value is not None and c.value <= limits[k]
               for k, c in enumerate(cores))
