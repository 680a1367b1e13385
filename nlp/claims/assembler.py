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

from bisect import bisect_left
from dataclasses import dataclass, field
from functools import cached_property

from spacy.language import Language
from spacy.tokens import Doc, Span

from nlp.claims.roles import RoleFinder, TokenSpan, parsed
from nlp.lexicon import Cue, Lexicon, get_lexicon
from nlp.numbers import FigureMatch

if not Doc.has_extension("claims"):
    Doc.set_extension("claims", default=None)

NONE = "none"  # trigger label of words that take a figure out of the six categories
_KINDS = ("triggers", "counted_triggers", "victims", "things", "not_count_before",
          "not_count_self", "one_of", "one_before", "subset", "modal", "source", "actor",
          "not_actor", "time", "negation", "reporters", "copula", "units", "partitive",
          "earlier", "subset_ahead")


_CLAUSE_ENDS = (";", ".", "«", "»", "“", "”", '"')  # no list runs across these
UNSPECIFIED = "unspecified"  # the victims type of words that say nothing of who: people, نفر
_PREDICATE_REACH = 6  # tokens after a figure where its clause's predicate may stand
_UNIT_REACH = 3  # "cases of arbitrary arrest": words from a unit word to its event
_PARTITIVE = 2.5  # penalty for a trigger noun after "of (the)" right after the figure
_TAKEN = 3.0  # penalty for a trigger that stands right after another count


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
    figure_token: int = 0  # the figure's first token in the doc
    confidence: float = 0.5
    features: dict[str, float | str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Found:
    """A figure's trigger: how far it is (with penalties), and its lead over the nearest
    trigger of another category."""

    cue: Cue
    distance: float
    margin: float


@dataclass(frozen=True)
class _Decision:
    """Why a figure is a claim: its category, how that was found (trigger, subset, list,
    previous sentence), its own trigger if any, and the claim it follows."""

    category: str
    how: str
    found: _Found | None
    parent: ClaimDraft | None = None


@dataclass
class _Figure:
    match: FigureMatch
    span: Span  # its tokens


@dataclass
class _Sentence:
    """The cues of one sentence, found once and shared by its figures."""

    span: Span
    figures: list[_Figure]
    cues: dict[str, list[Cue]]
    text: str  # the doc's text (spaCy builds `doc.text` anew on every access)
    people: list[bool] = field(default_factory=list)  # which figures count people

    @property
    def triggers(self) -> list[Cue]:
        return self.cues["triggers"]

    @property
    def victims(self) -> list[Cue]:
        return self.cues["victims"]

    @cached_property
    def predicates(self) -> list[tuple[Cue, Cue]]:
        """Victims words with their copula beside them, (victims, copula): "are women"
        (a copula labelled `before` it), "کودک هستند" (`after` it)."""
        before = {c.end: c for c in self.cues["copula"] if c.label == "before"}
        after = {c.start: c for c in self.cues["copula"] if c.label == "after"}
        return [(v, copula) for v in self.victims
                if (copula := before.get(v.start) or after.get(v.end)) is not None]


class ClaimAssembler:
    def __init__(self, lang: str, victims_window: int = 3, max_distance: int = 20,
                 off_side_penalty: float = 1.5) -> None:
        self.lex: Lexicon = get_lexicon(lang)
        self.roles = RoleFinder(self.lex)
        self.victims_window = victims_window
        self.max_distance = max_distance
        self.off_side_penalty = off_side_penalty
        # Where the trigger usually stands relative to the figure (Arabic قتل 12, Turkish
        # 12 kişi öldü, Persian ۱۲ نفر کشته شدند); English has both.
        self.trigger_side: str | None = self.lex.setting("trigger_side")
        self.off_side_penalty = float(self.lex.setting("off_side_penalty", off_side_penalty))
        self.parse_counted_noun = bool(self.lex.setting("parse_counted_noun", False))
        # Words for "one" that are also the indefinite article (Turkish bir): a count only
        # when a victims word or trigger follows ("bir kişi öldü").
        self.indefinite_one = frozenset(self.lex.setting("indefinite_one", []))

    def __call__(self, doc: Doc) -> Doc:
        figures = [_Figure(f, span) for f in doc._.figures or [] if f.kind == "cardinal"
                   if (span := doc.char_span(f.start, f.end, alignment_mode="expand"))
                   is not None]
        cues = self.lex.scan_many(doc, _KINDS)
        cues["triggers"] = _negated(sorted(cues["triggers"] + cues.pop("counted_triggers"),
                                           key=lambda c: c.start), cues.pop("negation"))
        cues["source"] = _no_link_inside(cues["source"], cues["earlier"])
        cues["dates"] = [Cue("time", "date", s.start, s.end) for f in doc._.figures or []
                         if f.kind in ("date", "year")
                         if (s := doc.char_span(f.start, f.end, alignment_mode="expand"))
                         is not None]
        starts = {kind: [c.start for c in found] for kind, found in cues.items()}
        text = doc.text
        claims: list[ClaimDraft] = []
        previous: list[ClaimDraft] = []  # claims of the sentence before
        next_figure = 0
        for sent in doc.sents:
            here = []
            while next_figure < len(figures) and figures[next_figure].span.start < sent.end:
                if figures[next_figure].span.start >= sent.start:
                    here.append(figures[next_figure])
                next_figure += 1
            if not here:
                previous = []
                continue
            within = {kind: _within(found, starts[kind], sent) for kind, found in cues.items()}
            info = _Sentence(sent, here, within, text)
            drafts = self._sentence(info, previous)
            claims.extend(drafts)
            previous = drafts
        doc._.claims = claims
        return doc

    # -- one sentence ------------------------------------------------------------------------
    def _sentence(self, info: _Sentence, previous: list[ClaimDraft]) -> list[ClaimDraft]:
        figures = info.figures
        people = info.people = [self._counts_people(info, f) and not self._earlier_report(info, f)
                                for f in figures]
        owner: dict[int, ClaimDraft] = {}  # figure index -> its claim
        for n in range(len(figures)):
            if not people[n]:
                continue
            decided = self._decide(info, n, owner, previous)
            if decided is not None and decided.category != NONE:
                owner[n] = self._draft(info, n, decided)
        # A figure listed before a claimed one shares its category ("12 sivil ve 3 asker
        # hayatını kaybetti": the trigger is past the second figure).
        for n in range(len(figures) - 2, -1, -1):
            if people[n] and n not in owner and n + 1 in owner \
                    and self._listed(info, n, n + 1):
                nxt = owner[n + 1]
                owner[n] = self._draft(info, n, _Decision(nxt.category, "list", None, nxt))
        for n in range(len(figures) - 1):  # "aralarında 3 çocuğun da bulunduğu 28 yolcu"
            m = n + 1
            if people[n] and m in owner and self._subset_ahead(info, n, m):
                parent = owner[m]
                owner[n] = self._draft(info, n, _Decision(parent.category, "subset", None,
                                                          parent))
        self._elliptical_victims(info, owner)
        drafts = [owner[n] for n in sorted(owner)]
        if drafts:
            self._roles(info, drafts)
        return drafts

    def _decide(self, info: _Sentence, n: int, owner: dict[int, ClaimDraft],
                previous: list[ClaimDraft]) -> _Decision | None:
        """How figure n becomes a claim, or None for no claim."""
        found = self._trigger(info, n)
        if found is not None and self._hypothetical(info, found.cue, n):
            return None  # "could displace 1 million"
        parent = self._parent(info, n, owner)
        if parent is not None:
            claim, marker_end = parent
            if found is not None and (found.distance <= 2 or (
                    found.cue.start >= marker_end
                    and self._nearest_figure(info, found.cue) == n)):
                return _Decision(found.cue.label, "trigger", found)
            return _Decision(claim.category, "subset", found, claim)
        if found is not None and found.distance <= 4:
            return _Decision(found.cue.label, "trigger", found)
        for m in range(n - 1, -1, -1):  # listed with the previous claimed figure
            if m in owner:
                if self._listed(info, m, n):
                    return _Decision(owner[m].category, "list", found, owner[m])
                break
        if found is not None:
            return _Decision(found.cue.label, "trigger", found)
        victims = self._victims(info, n)
        named = victims is not None and victims.label != UNSPECIFIED
        if previous and not info.triggers and (info.cues["subset"] or (
                named and not any(t.pos_ == "VERB" for t in info.span))):
            # "Twelve people died. Among them were 5 children." / "58 of them were women";
            # not "The figure given on Tuesday was 3,488 people", nor a sentence with a
            # verb of its own ("120 rescuers were working", "1,289 patients were admitted")
            return _Decision(previous[-1].category, "previous", None)
        return None

    def _elliptical_victims(self, info: _Sentence, owner: dict[int, ClaimDraft]) -> None:
        """A bare figure in a list or subset counts the people named for the figure before
        it ("two soldiers were killed and three wounded"; "90 protesters wounded, some 40
        of them by gunfire"): it points at that victims word."""
        doc = info.span.doc
        before: ClaimDraft | None = None
        for n in sorted(owner):
            draft = owner[n]
            fig = info.figures[n].span
            bare = fig.end >= info.span.end or not doc[fig.end].is_alpha or any(
                c.start == fig.end for c in info.triggers + info.cues["subset"])
            if draft.victims is None and before is not None and before.victims is not None \
                    and bare:
                draft.victims = before.victims
            before = draft

    def _draft(self, info: _Sentence, n: int, decision: _Decision) -> ClaimDraft:
        """A claim for figure n; one that follows another claim shares its trigger."""
        doc = info.span.doc
        found = decision.found if decision.how == "trigger" else None
        trigger = None if found is None else found.cue
        draft = ClaimDraft(
            figure=info.figures[n].match, category=decision.category,
            trigger=None if trigger is None else _mention(doc, trigger.start, trigger.end),
            sentence=Mention(info.span.start_char, info.span.end_char),
            victims=self._victims(info, n),
            trigger_token=None if trigger is None else trigger.start,
            figure_token=info.figures[n].span.start,
            features=self._features(info, n, decision))
        draft.confidence = _heuristic_confidence(decision.how, float(draft.features["distance"]))
        if decision.parent is not None:
            draft.trigger = decision.parent.trigger
            draft.trigger_token = decision.parent.trigger_token
        return draft

    def _features(self, info: _Sentence, n: int, decision: _Decision) -> dict[str, float | str]:
        """What the assembler knows about how sure it is, for the confidence model."""
        found, fig = decision.found, info.figures[n].span
        side = "none"
        if found is not None:
            side = ("self" if found.cue.start >= fig.start and found.cue.end <= fig.end
                    else "after" if found.cue.start >= fig.end else "before")
        labels = {c.label for c in info.triggers if c.label != NONE}
        return {
            "how": decision.how,
            "distance": 0.0 if found is None else found.distance,
            "margin": 20.0 if found is None else min(found.margin, 20.0),
            "trigger_side": side,
            "trigger_kind": "none" if found is None else found.cue.kind,
            "trigger_agrees": float(found is not None and found.cue.label == decision.category),
            "categories_in_sentence": float(len(labels)),
            "people_figures": float(sum(info.people)),
            "modal_in_sentence": float(any(c.label == "modal" for c in info.cues["modal"])),
            "earlier_in_sentence": float(bool(info.cues["earlier"])),
        }

    def _marked_subset(self, info: _Sentence, k: int) -> bool:
        """Whether figure k is introduced as part of an earlier one: "(639", "including 5",
        "2 of them"."""
        span = info.figures[k].span
        doc = info.span.doc
        if span.start > 0 and doc[span.start - 1].text == "(":
            return True
        return any(span.start - 2 <= c.end <= span.start or c.start == span.end
                   for c in info.cues["subset"])

    def _nearest_figure(self, info: _Sentence, cue: Cue) -> int:
        """The figure a trigger stands closest to ("killing four civilians, two of them
        children, and wounding nine others": "wounding" is nine's)."""
        def gap(f: _Figure) -> int:
            return max(f.span.start - cue.end, cue.start - f.span.end, 0)
        return min(range(len(info.figures)), key=lambda k: gap(info.figures[k]))

    def _hypothetical(self, info: _Sentence, trigger: Cue, n: int) -> bool:
        """A modal just before the trigger, or before the figure when the trigger follows it:
        "could displace 1 million", "1 million could be displaced", "ممکن است صدها هزار نفر
        آواره شوند"."""
        fig = info.figures[n].span
        reach = min(trigger.start, fig.start) - 3 if fig.start < trigger.start \
            else trigger.start - 3
        return any(reach <= c.start and c.end <= trigger.start for c in info.cues["modal"]
                   if c.label == "modal")  # not "epistemic": "may still be missing"

    def _listed(self, info: _Sentence, m: int, n: int) -> bool:
        """Whether figures m < n stand in one list: close, no trigger or clause end between,
        no verb but a copula ("of whom 1,230 were children and 910 were women")."""
        doc = info.span.doc
        gap_start, gap_end = info.figures[m].span.end, info.figures[n].span.start
        copulas = {i for _, c in info.predicates for i in range(c.start, c.end)}
        return (gap_end - gap_start <= 6
                and not any(gap_start <= c.start < gap_end
                            for c in info.triggers + info.cues["source"])
                and not any(t.text in _CLAUSE_ENDS
                            or (t.pos_ in ("VERB", "AUX") and t.i not in copulas)
                            for t in doc[gap_start:gap_end]))

    def _counts_people(self, info: _Sentence, fig: _Figure) -> bool:
        doc = info.span.doc
        start, end = fig.span.start, fig.span.end
        after = info.text[fig.match.end : fig.match.end + 2]
        if after[:1] in "-‑" and after[1:2].isalpha():
            return False  # five-storey, 12-year-old: a modifier, not a count
        if any(c.start == start and c.end == end for c in info.cues["not_count_self"]):
            return False  # "several": too vague to report as a toll
        if fig.match.value == 1 and any(c.start == end for c in info.cues["one_of"]):
            return False  # "one of the dead"
        if start >= 2 and doc[start - 1].text == "," and doc[start - 2].ent_type_ == "PER" \
                and end < len(doc) and doc[end].is_punct:
            return False  # "Yousef Abu Jarad, 27, said": an age
        if start > 0 and end < len(doc) and doc[start - 1].text in ("[", "(") \
                and doc[end].text in ("]", ")"):
            return False  # [16], (3): a reference, not a count
        for cue in info.cues["not_count_before"]:
            reach = 4 if cue.label == "superseded" else 0
            if cue.end <= start and start - cue.end <= reach and not any(
                    t.is_punct or t.like_num for t in doc[cue.end : start]):
                return False  # aged 12; page 4; up from an initial count of 18
        if fig.match.value == 1 and any(c.end == start for c in info.cues["one_before"]):
            return False  # "the last one"
        if fig.match.value == 1 and fig.span.text.lower() in self.indefinite_one \
                and not any(c.start == end for c in info.victims + info.triggers):
            return False  # "bir sebze pazarını": an article, not a count
        if self._cases_of_event(info, end):
            return True
        if self.parse_counted_noun and not self._person_noun(info, fig):
            return False
        victims_after = [c for c in info.victims if start <= c.start < end + 2]
        for cue in info.cues["things"]:
            if end <= cue.start < end + 2 and not any(v.start < cue.start for v in victims_after) \
                    and (cue.start == end or not self._separates(info, end)):
                return False  # 14 strikes, 12 air strikes; not نزوح الآلاف في هجوم
        return True

    def _subset_ahead(self, info: _Sentence, n: int, m: int) -> bool:
        """Whether figure n is a part of the next figure m, named before it: a marker
        (`subset_ahead`: Turkish bulunduğu) between them, "aralarında 3 çocuğun da
        bulunduğu 28 yolcu yaralandı"."""
        end, start = info.figures[n].span.end, info.figures[m].span.start
        return any(end <= c.start <= end + 3 and 0 <= start - c.end <= 1
                   for c in info.cues["subset_ahead"])

    def _earlier_report(self, info: _Sentence, fig: _Figure) -> bool:
        """Whether the figure's clause reports an earlier, superseded toll: a reporting
        marker there marked as earlier ("daha önce ... duyurmuştu", "پیش‌تر ... اعلام کرده
        بود"), or in the past perfect with a word of an earlier toll ("وكانت الشرطة قد
        أعلنت في وقت سابق مقتل 9", "بعد أن كانت الحصيلة الأولية قد أشارت إلى 18"). A past
        perfect alone is no sign: "وكانت الخلية قد أعلنت في آب الماضي مقتل 6 عسكريين في
        هجوم مماثل" reports another event, still a claim."""
        earlier = info.cues["earlier"]
        if not earlier:
            return False
        low, high = self._clause(info, fig.span.start, fig.span.end)
        reports = [c for c in info.cues["source"]
                   if c.label != "link" and low <= c.start and c.end <= high]
        here = {e.label for e in earlier if low <= e.start and e.end <= high
                if e.label not in ("perfect_before", "perfect_after") or any(
                    e.end <= r.start if e.label == "perfect_before" else r.end == e.start
                    for r in reports)}
        perfect = bool(here & {"perfect_before", "perfect_after"})
        return bool(reports) and ("marker" in here or ("toll" in here and perfect))

    def _clause(self, info: _Sentence, start: int, end: int) -> tuple[int, int]:
        """Tokens [low, high) of the clause around tokens [start, end): up to punctuation or
        a clause link (while, فيما, بعدما) on either side, within the sentence."""
        doc = info.span.doc
        links = {k for c in info.cues["source"] if c.label == "link"
                 for k in range(c.start, c.end)}
        low = start
        while low > info.span.start and not doc[low - 1].is_punct and low - 1 not in links:
            low -= 1
        high = end
        while high < info.span.end and not doc[high].is_punct and high not in links:
            high += 1
        return low, high

    def _cases_of_event(self, info: _Sentence, end: int) -> bool:
        """'214 cases of arbitrary arrest': a unit word (cases, incidents) right after the
        figure, then within a few words, no punctuation or number between, a trigger: the
        figure counts the people the trigger names ('300 cholera cases and 12 deaths': the
        cases count no one)."""
        doc = info.span.doc
        for unit in info.cues["units"]:
            if end <= unit.start < end + 2:
                reach = unit.end + _UNIT_REACH
                return any(unit.end <= c.start <= reach and c.label != NONE
                           and not any(doc[k].is_punct or doc[k].like_num
                                       for k in range(unit.end, c.start))
                           for c in info.triggers)
        return False

    def _separates(self, info: _Sentence, i: int) -> bool:
        """Whether token i keeps a figure from the noun after it: punctuation, a preposition
        or complementiser (a boundary word), a trigger."""
        token = info.span.doc[i]
        return token.is_punct or self.lex.lookup("boundaries", token) is not None \
            or any(c.start <= i < c.end for c in info.triggers)

    def _person_noun(self, info: _Sentence, fig: _Figure) -> bool:
        """With a parse: whether the noun the figure counts is a person (or a trigger:
        "12 dead", "12 deaths"); "23 cows", "18 relief teams" are not."""
        doc = info.span.doc
        if not parsed(doc):
            return True
        token = doc[fig.span.end - 1]
        head = token.head
        if token.dep_ not in ("nummod", "quantmod") or head.i <= token.i \
                or head.pos_ not in ("NOUN", "PROPN") \
                or any(doc[k].is_punct for k in range(token.i + 1, head.i)):
            return True
        hits = info.victims + info.triggers
        return any(c.start <= head.i < c.end for c in hits) or head.ent_type_ in ("NORP", "MISC") \
            or self._governor(info, fig) is not None

    def _governor(self, info: _Sentence, fig: _Figure) -> Cue | None:
        """With a parse: the trigger whose subject or object the counted noun is ("killed 17
        missionaries", "21 hostages and four soldiers had been killed", "the deaths of 17
        people")."""
        doc = info.span.doc
        if not self.parse_counted_noun or not parsed(doc):
            return None
        noun = doc[fig.span.end - 1]
        if noun.dep_ in ("nummod", "quantmod") and noun.head.i > noun.i:
            noun = noun.head
        while noun.dep_ == "conj" and noun.head.i < noun.i:
            noun = noun.head
        if noun.dep_ in ("nsubj", "nsubjpass", "dobj"):
            verb = noun.head
        elif noun.dep_ == "pobj" and noun.head.lower_ == "of":
            verb = noun.head.head
        else:
            return None
        return next((c for c in info.triggers if c.start <= verb.i < c.end
                     and c.kind == "triggers"), None)

    def _trigger(self, info: _Sentence, n: int) -> _Found | None:
        """The nearest trigger cue, by token distance plus penalties, and by how much it
        beat the nearest trigger of another category."""
        fig = info.figures[n]
        # a trigger may reach past a figure that only breaks this one down ("At least 23
        # civilians, including seven children, were killed"), not past a figure of its own
        others = [f.span for i, f in enumerate(info.figures)
                  if i != n and info.people[i] and not (i > n and self._marked_subset(info, i))]
        scored: list[tuple[float, Cue]] = []
        governor = self._governor(info, fig)
        partitive = {c.end for c in info.cues["partitive"] if c.start == fig.span.end}
        for cue in info.triggers:
            if cue is governor:
                distance = 1.0  # the parse links them: "21 hostages ... had been killed"
            elif cue.start >= fig.span.start and cue.end <= fig.span.end:
                distance = 0.5  # the figure names the trigger itself (قتيلان)
            elif cue.start >= fig.span.end:
                distance = cue.start - fig.span.end + 1
                if self.trigger_side == "before":
                    distance += self.off_side_penalty
                if any(fig.span.end <= o.start and o.end <= cue.start for o in others):
                    continue  # a trigger past another count is that count's
                if self.trigger_side == "before" and cue.start > fig.span.end and any(
                        0 <= o.start - cue.end <= 2 for o in others if o.start > fig.span.end):
                    distance += _TAKEN  # "35173 والإصابات إلى 79061": the next count's
                if partitive and cue.start in partitive:
                    distance += _PARTITIVE  # "اثنين من الجرحى توفيا": the group, not the event
            elif cue.end <= fig.span.start:
                distance = fig.span.start - cue.end + 1
                if self.trigger_side == "after":
                    distance += self.off_side_penalty
                if any(cue.end <= o.start and o.end <= fig.span.start for o in others):
                    continue
                if any(cue.start == o.end for o in others):
                    distance += _TAKEN  # "1387 وفاة و2219 إصابة": وفاة is 1387's
            else:
                continue
            if cue.label == NONE:
                distance += 0.25  # on a tie, the casualty reading wins
            if cue.kind == "counted_triggers":
                distance += 2.5  # "3 detainees died": the verb, not the counted noun, decides
            if distance <= self.max_distance:
                scored.append((distance, cue))
        if not scored:
            return None
        distance, best = min(scored, key=lambda s: s[0])
        rival = min((d for d, c in scored if c.label != best.label), default=distance + 20.0)
        return _Found(best, distance, rival - distance)

    def _parent(self, info: _Sentence, n: int, owner: dict[int, ClaimDraft]
                ) -> tuple[ClaimDraft, int] | None:
        """The claim this figure breaks down, and where the marker saying so ends: an open
        bracket or a colon after the total ("1,084 (639 civilians"; "toll at 38: 19
        fighters"), or a subset marker ("including 5 children", "2 of them girls")."""
        doc = info.span.doc
        fig = info.figures[n]
        bracket = _open_bracket(doc, info.span.start, fig.span.start)
        if bracket is not None:  # "1,084 (639 civilians; 213 soldiers)"
            before = [m for m in owner if info.figures[m].span.end <= bracket]
            if before:
                return owner[max(before)], bracket + 1
        window_end = min(info.span.end, fig.span.end + 3)
        for m in range(n - 1, -1, -1):
            if m not in owner:
                continue
            gap = doc[info.figures[m].span.end : fig.span.start]
            if ":" in gap.text and ";" not in gap.text:  # "toll at 38: 19 fighters"
                colon = max(t.i for t in gap if t.text == ":")
                return owner[m], colon + 1
            if ";" not in gap.text:
                for c in info.cues["subset"]:
                    if fig.span.start - 2 <= c.start and c.end <= window_end:
                        return owner[m], c.end
            break
        return None

    def _victims(self, info: _Sentence, n: int) -> Mention | None:
        """The victims word the figure counts: the figure itself (مدنيان), the first one
        within a few tokens after it, or one just before it ("sivillerden 12'si")."""
        fig = info.figures[n].span
        doc = info.span.doc
        next_fig = min((f.span.start for f in info.figures if f.span.start >= fig.end),
                       default=info.span.end)
        limit = min(next_fig, fig.end + self.victims_window)
        near = next((c for c in info.victims if fig.start <= c.start < limit), None)
        if near is None or near.label == UNSPECIFIED:  # "3 of the detainees are women"
            predicate = self._predicate_victims(info, fig.end, next_fig)
            if predicate is not None and predicate.label != UNSPECIFIED:
                near = predicate
        if near is not None:
            return _mention(doc, near.start, near.end, near.label)
        for cue in info.victims:  # the noun before its number: مواطنين اثنين
            if cue.end == fig.start:
                return _mention(doc, cue.start, cue.end, cue.label)
        return None

    def _predicate_victims(self, info: _Sentence, start: int, stop: int) -> Cue | None:
        """A victims word that is the predicate of the figure's clause: "3 of the detainees
        are women", "۳۳ نفر از گروگان‌ها کودک هستند" (the copula, from the lexicon, stands
        right before or after it; no punctuation between the figure and it)."""
        doc = info.span.doc
        stop = min(stop, start + _PREDICATE_REACH)
        return next((cue for cue, _ in info.predicates if start <= cue.start < stop
                     and not any(doc[k].is_punct for k in range(start, cue.start))), None)

    def _time_phrase(self, info: _Sentence, cue: Cue, blocked: set[int]) -> Cue:
        """A `lead` time cue opens a phrase ("since the protests began", "in the past three
        months"); other time cues are the phrase."""
        if cue.label != "lead":
            return cue
        span = self.roles.phrase_after(info.span, cue.end, blocked - _figure_tokens(info))
        return Cue(cue.kind, cue.label, cue.start, span.end if span is not None else cue.end)

    def _roles(self, info: _Sentence, drafts: list[ClaimDraft]) -> None:
        doc = info.span.doc
        # figures that count no one may stand in a role ("a security source said"); in a
        # source, also a count of people that is no claim's ("two witnesses told Reuters",
        # "یک پزشک ... گفت": a doctor said)
        triggers = {i for c in info.triggers for i in range(c.start, c.end)}
        people = [f for f, counts in zip(info.figures, info.people, strict=True) if counts]
        counted = {d.figure_token for d in drafts}
        blocked = triggers | {i for f in people if f.span.start in counted
                              for i in range(f.span.start, f.span.end)}
        sources = {id(d): self.roles.source(info.span, info.cues["source"],
                                            d.figure_token, blocked, info.cues["reporters"])
                   for d in drafts}
        blocked |= {i for f in people for i in range(f.span.start, f.span.end)}
        for source in sources.values():
            if source is not None:
                blocked |= set(range(source.start, source.end))
        not_actor = {i for c in info.cues["not_actor"] for i in range(c.start, c.end)}
        actors = {id(d): self.roles.actor(info.span, info.cues["actor"], d.trigger_token, blocked,
                                          not_actor) for d in drafts}
        roles = [*sources.values(), *actors.values()]  # "Rusya'nın saldırısı": no place
        # nor a word the lexicon knows as victims or a trigger ("قتل 14 مدنيا": civilians,
        # which the Arabic NER at times tags LOC)
        cued = triggers | {i for c in info.victims for i in range(c.start, c.end)}
        places = [e for e in info.span.ents if e.label_ == "LOC"
                  and not any(_inside(e.start, e.end, r) for r in roles)
                  and not cued.issuperset(range(e.start, e.end))]
        times = [self._time_phrase(info, c, blocked) for c in info.cues["time"]]
        times += info.cues["dates"]
        for draft in drafts:
            draft.source = _from_tokens(doc, sources[id(draft)])
            draft.actor = _from_tokens(doc, actors[id(draft)])
            draft.places = [_mention(doc, e.start, e.end) for e in places]
            if times:
                near = min(times, key=lambda c: abs(c.start - draft.figure_token))
                draft.time = _mention(doc, near.start, near.end)


def _heuristic_confidence(how: str, distance: float) -> float:
    """Until the learned scorer: falls with the distance between figure and trigger."""
    if how == "subset":
        return 0.7
    return round(max(0.3, 0.9 - 0.04 * max(0.0, distance - 1)), 3)


def _open_bracket(doc: Doc, start: int, end: int) -> int | None:
    """The token index of the last bracket opened in [start, end) and not closed there."""
    stack: list[int] = []
    for token in doc[start:end]:
        if token.text == "(":
            stack.append(token.i)
        elif token.text == ")" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _figure_tokens(info: _Sentence) -> set[int]:
    return {i for f in info.figures for i in range(f.span.start, f.span.end)}


def _no_link_inside(source: list[Cue], earlier: list[Cue]) -> list[Cue]:
    """Source cues without the clause links that stand inside an `earlier` phrase: في وقت
    سابق ("earlier") holds the link في وقت ("at a time when") but opens no clause."""
    inside = {k for c in earlier for k in range(c.start, c.end)}
    return [c for c in source if c.label != "link" or not inside & set(range(c.start, c.end))]


def _negated(triggers: list[Cue], negations: list[Cue]) -> list[Cue]:
    """Triggers with a negation next to them take figures out instead of counting them:
    "130 firefighters … no injuries were reported", "دون وقوع إصابات", "can kaybı
    yaşanmadı", "کسی کشته نشد". One token may stand between ("no serious injuries")."""
    before = {c.end + gap for c in negations if c.label == "before" for gap in (0, 1)}
    after = {c.start - gap for c in negations if c.label == "after" for gap in (0, 1)}
    return [Cue(t.kind, NONE, t.start, t.end) if t.start in before or t.end in after else t
            for t in triggers]


def _within(cues: list[Cue], starts: list[int], sent: Span) -> list[Cue]:
    """The cues inside `sent`, from cues sorted by start (`starts` their start tokens)."""
    lo, hi = bisect_left(starts, sent.start), bisect_left(starts, sent.end)
    return [c for c in cues[lo:hi] if c.end <= sent.end]


def _inside(start: int, end: int, span: TokenSpan | None) -> bool:
    return span is not None and span.start <= start and end <= span.end


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
