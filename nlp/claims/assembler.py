"""Claim assembly: which figures count casualties, of what kind, of whom, reported by whom.

For each cardinal figure of a sentence:
1. **Is it a count of people?** Not when the word it counts is a thing (villages, hours,
   air strikes), when a marker before it says it is something else (aged, page, "up from"),
   or when it is a bracketed reference ([16]).
2. **Category.** The nearest trigger of the sentence (killed, wounded, fled...), with a
   penalty for the side the language does not usually put it on and for reaching past
   another figure; a figure inside a breakdown or subset ("(639 civilians; 213 soldiers)",
   "including 5 children", "2 of them girls") takes the category of the figure it breaks
   down. Triggers labelled `none` (rescued, treated, released) claim a figure for nothing.
3. **Victims.** The victims word the figure counts (after it, or itself: Arabic duals).
4. **Source, actor, time, places** from the sentence (see `roles`).

All language knowledge is in `data/lang/<lang>/lexicon.json`; the code is the same for all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spacy.language import Language
from spacy.tokens import Doc, Span

from nlp.claims.roles import RoleFinder, TokenSpan
from nlp.lexicon import Cue, Lexicon, get_lexicon
from nlp.numbers import FigureMatch

if not Doc.has_extension("claims"):
    Doc.set_extension("claims", default=None)

NONE = "none"  # trigger label of words that take a figure out of the six categories


@dataclass(frozen=True)
class Mention:
    start: int  # character offsets into the doc's text
    end: int
    label: str = ""


@dataclass
class ClaimDraft:
    figure: FigureMatch
    category: str
    trigger: Mention | None
    sentence: Mention
    victims: Mention | None = None
    actor: Mention | None = None
    source: Mention | None = None
    places: list[Mention] = field(default_factory=list)
    time: Mention | None = None
    trigger_token: int | None = None
    confidence: float = 0.5
    features: dict[str, float | str] = field(default_factory=dict)


@dataclass
class _Figure:
    match: FigureMatch
    span: Span  # its tokens


@dataclass
class _Sentence:
    """The cues of one sentence, found once and shared by its figures."""

    span: Span
    figures: list[_Figure]
    triggers: list[Cue]
    victims: list[Cue]
    cues: dict[str, list[Cue]]


class ClaimAssembler:
    def __init__(self, lang: str, victims_window: int = 3, max_distance: int = 20,
                 off_side_penalty: float = 1.5, crossing_penalty: float = 4.0) -> None:
        self.lex: Lexicon = get_lexicon(lang)
        self.roles = RoleFinder(self.lex)
        self.victims_window = victims_window
        self.max_distance = max_distance
        self.off_side_penalty = off_side_penalty
        self.crossing_penalty = crossing_penalty
        # Where the trigger usually stands relative to the figure (Arabic قتل 12, Turkish
        # 12 kişi öldü, Persian ۱۲ نفر کشته شدند); English has both.
        self.trigger_side: str | None = self.lex.setting("trigger_side")

    def __call__(self, doc: Doc) -> Doc:
        figures = [_Figure(f, span) for f in doc._.figures or [] if f.kind == "cardinal"
                   if (span := doc.char_span(f.start, f.end, alignment_mode="expand"))
                   is not None]
        kinds = ("triggers", "victims", "things", "not_count_before", "not_count_self",
                 "one_of", "subset", "source", "actor", "time")
        cues = {kind: self.lex.scan(doc, kind) for kind in kinds}
        claims: list[ClaimDraft] = []
        previous: list[ClaimDraft] = []  # claims of the sentence before
        for sent in doc.sents:
            here = [f for f in figures if sent.start <= f.span.start < sent.end]
            if not here:
                previous = []
                continue
            info = _Sentence(sent, here, _within(cues["triggers"], sent),
                             _within(cues["victims"], sent),
                             {k: _within(v, sent) for k, v in cues.items()})
            drafts = self._sentence(info, previous)
            claims.extend(drafts)
            previous = drafts
        doc._.claims = claims
        return doc

    # -- one sentence ------------------------------------------------------------------------
    def _sentence(self, info: _Sentence, previous: list[ClaimDraft]) -> list[ClaimDraft]:
        drafts: list[ClaimDraft] = []
        owner: dict[int, ClaimDraft] = {}  # figure index -> its claim
        for n, fig in enumerate(info.figures):
            if not self._counts_people(info, fig):
                continue
            parent = self._parent(info, n, owner)
            found = self._trigger(info, n)
            if parent is None and found is None and previous and info.cues["subset"]:
                parent = previous[-1]  # "Twelve people died. Among them were 5 children."
            if parent is None and (found is None or found[0] > 4):
                parent = self._listed_with(info, n, owner)
            trigger: Cue | None = None
            if found is not None and (parent is None or found[0] <= 2):
                distance, trigger = found
                category, how = trigger.label, "trigger"
                trig_mention: Mention | None = _mention(info.span.doc, trigger.start, trigger.end)
            elif parent is not None:
                distance, category, trig_mention, how = 0.0, parent.category, parent.trigger, "subset"
            else:
                continue
            if category == NONE:
                continue
            draft = ClaimDraft(
                figure=fig.match, category=category, trigger=trig_mention,
                sentence=Mention(info.span.start_char, info.span.end_char),
                victims=self._victims(info, n),
                trigger_token=trigger.start if trigger is not None else None,
                confidence=_heuristic_confidence(how, distance),
                features={"how": how, "distance": distance})
            owner[n] = draft
            drafts.append(draft)
        if drafts:
            self._roles(info, drafts)
        return drafts

    def _counts_people(self, info: _Sentence, fig: _Figure) -> bool:
        doc = info.span.doc
        start, end = fig.span.start, fig.span.end
        text = doc.text
        after = text[fig.match.end : fig.match.end + 2]
        if after[:1] in "-‑" and after[1:2].isalpha():
            return False  # five-storey, 12-year-old: a modifier, not a count
        if any(c.start == start and c.end == end for c in info.cues["not_count_self"]):
            return False  # "several": too vague to report as a toll
        if fig.match.value == 1 and any(c.start == end for c in info.cues["one_of"]):
            return False  # "one of the dead"
        if start >= 2 and doc[start - 1].text == "," and doc[start - 2].ent_type_ == "PER" \
                and end < len(doc) and doc[end].is_punct:
            return False  # "Yousef Abu Jarad, 27, said": an age
        if 0 < start and end < len(doc) and doc[start - 1].text in ("[", "(") \
                and doc[end].text in ("]", ")"):
            return False  # [16], (3): a reference, not a count
        for cue in info.cues["not_count_before"]:
            if cue.end <= start and start - cue.end <= 1:
                return False
        victims_after = [c for c in info.victims if start <= c.start < end + 2]
        for cue in info.cues["things"]:
            if end <= cue.start < end + 2 and not any(v.start < cue.start for v in victims_after):
                return False
        return True

    def _trigger(self, info: _Sentence, n: int) -> tuple[float, Cue] | None:
        """The nearest trigger cue, by token distance plus penalties."""
        fig = info.figures[n]
        others = [f.span for i, f in enumerate(info.figures) if i != n]
        best: tuple[float, Cue] | None = None
        for cue in info.triggers:
            if cue.start >= fig.span.start and cue.end <= fig.span.end:
                distance = 0.5  # the figure names the trigger itself (قتيلان)
            elif cue.start >= fig.span.end:
                distance = cue.start - fig.span.end + 1
                if self.trigger_side == "before":
                    distance += self.off_side_penalty
                if any(fig.span.end <= o.start and o.end <= cue.start for o in others):
                    distance += self.crossing_penalty
            elif cue.end <= fig.span.start:
                distance = fig.span.start - cue.end + 1
                if self.trigger_side == "after":
                    distance += self.off_side_penalty
                if any(cue.end <= o.start and o.end <= fig.span.start for o in others):
                    distance += self.crossing_penalty
            else:
                continue
            if cue.label == NONE:
                distance += 0.25  # on a tie, the casualty reading wins
            if distance <= self.max_distance and (best is None or distance < best[0]):
                best = (distance, cue)
        return best

    def _parent(self, info: _Sentence, n: int, owner: dict[int, ClaimDraft]
                ) -> ClaimDraft | None:
        """The claim this figure breaks down, when a subset marker or an open bracket
        stands between them ("12 killed, including 5 children"; "1,084 (639 civilians")."""
        doc = info.span.doc
        fig = info.figures[n]
        window_end = min(info.span.end, fig.span.end + 3)
        for m in range(n - 1, -1, -1):
            if m not in owner:
                continue
            between = doc[info.figures[m].span.end : fig.span.start]
            if "(" in between.text and ")" not in between.text:
                return owner[m]
            if ";" not in between.text and any(
                    fig.span.start - 2 <= c.start and c.end <= window_end
                    for c in info.cues["subset"]):
                return owner[m]
            break
        return None

    def _listed_with(self, info: _Sentence, n: int, owner: dict[int, ClaimDraft]
                     ) -> ClaimDraft | None:
        """Figures listed together share a category ("802 civilians, 274 soldiers and 241
        fighters"): the claim of the previous figure, when no trigger stands between."""
        for m in range(n - 1, -1, -1):
            if m in owner:
                gap_start, gap_end = info.figures[m].span.end, info.figures[n].span.start
                if gap_end - gap_start <= 8 and not any(
                        gap_start <= c.start < gap_end for c in info.triggers):
                    return owner[m]
                return None
        return None

    def _victims(self, info: _Sentence, n: int) -> Mention | None:
        """The victims word the figure counts: the figure itself (مدنيان), the first one
        within a few tokens after it, or one just before it ("sivillerden 12'si")."""
        fig = info.figures[n].span
        doc = info.span.doc
        next_fig = min((f.span.start for f in info.figures if f.span.start >= fig.end),
                       default=info.span.end)
        limit = min(next_fig, fig.end + self.victims_window)
        for cue in info.victims:
            if fig.start <= cue.start < limit:
                return _mention(doc, cue.start, cue.end, cue.label)
        return None

    def _roles(self, info: _Sentence, drafts: list[ClaimDraft]) -> None:
        doc = info.span.doc
        blocked = {i for f in info.figures for i in range(f.span.start, f.span.end)}
        blocked |= {i for c in info.triggers for i in range(c.start, c.end)}
        source = self.roles.source(info.span, info.cues["source"], blocked)
        if source is not None:
            blocked |= set(range(source.start, source.end))
        actors = {id(d): self.roles.actor(info.span, info.cues["actor"], d.trigger_token, blocked)
                  for d in drafts}
        places = [e for e in info.span.ents if e.label_ == "LOC"
                  and not _inside(e.start, e.end, source)
                  and not any(_inside(e.start, e.end, a) for a in actors.values())]
        times = info.cues["time"] + [
            Cue("time", "date", s.start, s.end) for f in doc._.figures or []
            if f.kind in ("date", "year")
            if (s := doc.char_span(f.start, f.end, alignment_mode="expand")) is not None
            and info.span.start <= s.start < info.span.end]
        for draft in drafts:
            draft.source = _from_tokens(doc, source)
            draft.actor = _from_tokens(doc, actors[id(draft)])
            draft.places = [_mention(doc, e.start, e.end) for e in places]
            if times:
                near = min(times, key=lambda c: abs(c.start - _token_of(doc, draft.figure.start)))
                draft.time = _mention(doc, near.start, near.end)
            draft.features["source"] = float(source is not None)


def _heuristic_confidence(how: str, distance: float) -> float:
    """Until the learned scorer: falls with the distance between figure and trigger."""
    if how == "subset":
        return 0.7
    return round(max(0.3, 0.9 - 0.04 * max(0.0, distance - 1)), 3)


def _within(cues: list[Cue], sent: Span) -> list[Cue]:
    return [c for c in cues if sent.start <= c.start and c.end <= sent.end]


def _inside(start: int, end: int, span: TokenSpan | None) -> bool:
    return span is not None and span.start <= start and end <= span.end


def _token_of(doc: Doc, char: int) -> int:
    span = doc.char_span(char, char + 1, alignment_mode="expand")
    return span.start if span is not None else 0


def _mention(doc: Doc, start: int, end: int, label: str = "") -> Mention:
    last = doc[end - 1]
    return Mention(doc[start].idx, last.idx + len(last.text), label)


def _from_tokens(doc: Doc, span: TokenSpan | None) -> Mention | None:
    return None if span is None else _mention(doc, span.start, span.end)


@Language.factory("claims_assembler", assigns=["doc._.claims"],
                  requires=["doc._.figures", "token.norm", "doc.sents"],
                  default_config={"lang": None, "victims_window": 3, "max_distance": 20})
def make_assembler(nlp: Language, name: str, lang: str | None, victims_window: int,
                   max_distance: int) -> ClaimAssembler:
    return ClaimAssembler(str(lang or nlp.lang), victims_window, max_distance)
