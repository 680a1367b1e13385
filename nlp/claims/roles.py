"""Who reported a figure (source), who caused it (actor), when: phrases found next to the
language's markers.

Each language's lexicon lists markers by where their phrase stands: `after` the marker
("according to X", "وفقا لـ X", "به گزارش X", "by X", "على يد X", "توسط X"), `before` it
("X'e göre", "X tarafından"), and reporting `verbs` whose subject is the reporter ("X said",
"قال X", "X açıkladı", "X گفت"; `verb_subject` says on which side the subject stands).
The phrase is the named entity next to the marker when there is one, else the words up to
the nearest boundary (punctuation, complementiser, another cue). English uses the
dependency parse first (the subject of "said", the object of "according to"). A phrase that
names a reporter (a name or a `reporters` word) wins over one that does not, a `cited`
marker (نقلا عن, citing) counts only when no one cites, and a reporting verb that a `link`
word (فيما, while) puts in a later clause does not report the figure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from spacy.tokens import Doc, Span, Token

from nlp.lexicon import Cue, Lexicon

_NAME_LABELS = ("ORG", "PER", "MISC", "LOC")
_OPENING_QUOTES = ("«", "“", '"', "‘", "'")
_SUBJECT_DEPS = ("nsubj", "nsubjpass")


_HEADLINE_TOKENS = 14  # how far into a line a reporter's colon may stand
_DATELINE_TOKENS = 8  # "ناصریه، عراق (رویترز) –": place, country, agency, brackets


@dataclass(frozen=True)
class TokenSpan:
    start: int  # token indices, end exclusive
    end: int

    def chars(self, doc: Doc) -> tuple[int, int]:
        return doc[self.start].idx, doc[self.end - 1].idx + len(doc[self.end - 1].text)


class RoleFinder:
    """Source, actor and time phrases of one sentence, given the cues found in its doc."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lex = lexicon
        self.max_phrase = int(lexicon.setting("max_phrase_tokens", 6))
        self.max_subject = int(lexicon.setting("max_subject_tokens", 9))
        self.verb_subject = str(lexicon.setting("verb_subject", "before"))
        # particles that close a fronted topic, the subject of a verb-final sentence (ise)
        self.topic_markers = frozenset(lexicon.setting("topic_markers", []))

    # -- phrases ---------------------------------------------------------------------------
    def _boundary(self, token: Token, blocked: set[int]) -> bool:
        return (token.is_punct or token.is_space or token.i in blocked
                or self.lex.lookup("boundaries", token) is not None)

    def phrase_after(self, sent: Span, i: int, blocked: set[int]) -> TokenSpan | None:
        """The phrase starting at token i: a name starting there (or one token later, after
        an article), else the words up to a boundary."""
        doc = sent.doc
        if i < sent.end and doc[i].text in _OPENING_QUOTES:  # وفق ما أفاد به «تجمع أحرار حوران»
            i += 1
        if i >= sent.end:
            return None
        for j in (i, i + 1):
            if j < sent.end and doc[j].ent_iob_ == "B" and doc[j].ent_type_ in _NAME_LABELS:
                end = j + 1
                while end < sent.end and doc[end].ent_iob_ == "I":
                    end += 1
                return TokenSpan(i, end)
        end = i
        while end < sent.end and end - i < self.max_phrase and not (
                self._boundary(doc[end], blocked) and (end > i or doc[end].i in blocked
                                                       or doc[end].is_punct)):
            end += 1
        return TokenSpan(i, end) if end > i and not self._pronoun(doc, i, end) else None

    def phrase_before(self, sent: Span, i: int, blocked: set[int]) -> TokenSpan | None:
        """The phrase ending just before token i (a name ending there, else words back to a
        boundary)."""
        doc = sent.doc
        if i <= sent.start:
            return None
        last = doc[i - 1]
        if last.ent_type_ in _NAME_LABELS:
            start = i - 1
            while start > sent.start and doc[start].ent_iob_ == "I":
                start -= 1
            return TokenSpan(start, i)
        start = i
        while (start > sent.start and i - start < self.max_phrase
               and not self._boundary(doc[start - 1], blocked)):
            start -= 1
        return TokenSpan(start, i) if start < i and not self._pronoun(doc, start, i) else None

    def subject_at_start(self, sent: Span, verb: int, blocked: set[int]) -> TokenSpan | None:
        """Verb-final languages: the reporter opens the sentence and ends at a comma
        ("İçişleri Bakanı Ali Yerlikaya, ... açıkladı"; "سخنگوی اورژانس گفت"), after any
        dateline and any adverbial that opens with a function word and ends at a comma."""
        doc = sent.doc
        start = sent.start
        while True:  # past a timestamp or dateline: "13:05 — خبرنگار ما گزارش داد"
            while start < verb and (doc[start].is_punct or doc[start].is_space):
                start += 1
            end = start
            while end < verb and not ((doc[end].is_punct and doc[end].text != "/")
                                      or doc[end].i in blocked):
                end += 1  # "اسلام‌آباد/کابل - ...": one dateline
            if end < verb and (doc[end].text == ":" or (
                    doc[end].text in (",", "،") and end > start
                    and self.lex.lookup("boundaries", doc[start]) is not None)):
                start = end  # past a headline tag, or an adverbial: "در خبری دیگر، هرانا ..."
                continue
            dash = _dateline_dash(doc, start, end, verb)
            if dash is not None:  # past a dateline: "صنعا (خبرگزاری‌ها) – ..."
                start = dash
                continue
            break
        topic = next((k for k in range(start, end) if doc[k].lower_ in self.topic_markers),
                     None)
        if topic is not None:  # "Nijerya ordusu ise … duyurdu"
            end = topic
        if end == start or end - start > self.max_subject or self._pronoun(doc, start, end) \
                or all(doc[k].like_num for k in range(start, end)):
            return None
        return TokenSpan(start, end)

    def _fronted_subject(self, sent: Span, verb: int, blocked: set[int],
                         reporters: list[Cue]) -> TokenSpan | None:
        """Verb-first languages front the subject in headlines, live updates and topic
        clauses ("الجيش الإسرائيلي يعلن أنه ...", "أما ناشطون على مواقع التواصل فتحدثوا
        عن ...", "...، لكن مصدرا أمنيا قال ..."): a reporter (a name, or a phrase holding a
        reporter word) that fills the clause up to the verb, from the line's start or a
        dateline's dash or colon (after any function words), or from a comma followed by a
        function word."""
        doc = sent.doc
        first = verb
        while first > sent.start and verb - first < self.max_subject \
                and not (doc[first - 1].is_punct or doc[first - 1].is_space
                         or doc[first - 1].i in blocked) \
                and self.lex.lookup("source", doc[first - 1]) != "verb":
            first -= 1
        start = first
        while start < verb and self.lex.lookup("boundaries", doc[start]):
            start += 1  # "أما", "لكن"
        before = doc[first - 1] if first > sent.start else None
        if start == verb or not (before is None or _dash(doc, first - 1) or before.text == ":"
                                 or (before.text in (",", "،") and start > first)):
            return None
        span = TokenSpan(start, verb)
        return span if self._names_reporter(doc, span, reporters) else None

    def _pronoun(self, doc: Doc, start: int, end: int) -> bool:
        return all(self.lex.lookup("pronouns", doc[k]) is not None or doc[k].is_punct
                   for k in range(start, end))

    # -- roles -----------------------------------------------------------------------------
    def source(self, sent: Span, cues: list[Cue], figure: int, blocked: set[int],
               reporters: list[Cue]) -> TokenSpan | None:
        """The reporter of a figure: from the marker nearest to it that yields a phrase; a
        place alone ("Spain recorded 1,180 deaths, the institute said") only when no other
        marker names a reporter, a phrase that names no one ("وفق تقديرات أولية",
        "according to preliminary figures") only when no marker names a reporter, and a
        cited one ("قالت الأمم المتحدة، نقلا عن شركاء محليين") only when no marker names
        the one who cites."""
        place: TokenSpan | None = None
        weak: TokenSpan | None = None
        links = {k for c in cues if c.label == "link" for k in range(c.start, c.end)}
        markers = sorted((c for c in cues if c.label != "link"),
                         key=lambda c: (c.label == "cited", abs(c.start - figure)))
        for cue in markers:
            span: TokenSpan | None = None
            if cue.label in ("verb", "before") and _linked_clause(sent, figure, cue, links):
                continue
            if cue.label in ("after", "cited"):
                span = self.phrase_after(sent, cue.end, blocked)
                if span is None and cue.label == "after" and self.verb_subject == "start":
                    subject = self.subject_at_start(sent, cue.start, blocked)  # 'X, "…" dedi.'
                    if subject is not None and self._names_reporter(sent.doc, subject,
                                                                    reporters):
                        span = subject
            elif cue.label == "before":
                span = self.phrase_before(sent, cue.start, blocked)
            elif cue.label == "tag" and _dash(sent.doc, cue.start) and cue.start > 0 \
                    and sent.doc[cue.start - 1].whitespace_:  # not "زاهدان–خاش"
                span = self._tag(sent, cue.end)
                if span is not None and any(sent.doc[k].ent_type_ == "LOC" for k in range(
                        span.start, span.end)) and not self._names_reporter(
                        sent.doc, span, reporters):
                    span = None  # "على طريق سبها – أوباري جنوبي ليبيا": a route, not a tag
            elif cue.label == "verb":
                span = self._verb_subject(sent, cue, blocked, reporters)
            if span is not None and cue.label == "verb" and span.start >= cue.end \
                    and self.lex.lookup("boundaries", sent.doc[span.start]):
                span = None  # "وأضاف أن جهاز …": the verb's clause, not its subject
            if span is None:
                continue
            if _only_place(sent.doc, span):
                place = place or span
            elif self._names_reporter(sent.doc, span, reporters):
                return span
            else:
                weak = weak or span
        return weak or place or self._headline_tag(sent, reporters)

    @staticmethod
    def _names_reporter(doc: Doc, span: TokenSpan, reporters: list[Cue]) -> bool:
        """Whether a phrase names who reports: an organisation, person or other name, or a
        reporter word (ministry, sources, المرصد); "preliminary estimates" does not."""
        return any(doc[k].ent_type_ in ("ORG", "PER", "MISC")
                   for k in range(span.start, span.end)) \
            or any(span.start <= c.start and c.end <= span.end for c in reporters)

    def _headline_tag(self, sent: Span, reporters: list[Cue]) -> TokenSpan | None:
        """A reporter heading the line before a colon: "SOHR: 12 killed in Idlib",
        "09.30 | AFAD: ...", "هرانا: دست‌کم ۹ زندانی ...", "المرصد: مقتل 9", "محافظ البحر
        الأحمر: وفاة شخصين", "هيئة الكوارث (آفاد): 1014 قتيلا". The phrase must name an
        organisation or person (its last word, or the one before a closing bracket) or hold
        a reporter word (ministry, sources, governor); "Syria: 12 killed" (a place) and
        "Ege'de göçmen faciası: ..." (a phrase) are none."""
        doc = sent.doc
        start = sent.start
        for k in range(sent.start, min(sent.end, sent.start + _HEADLINE_TOKENS)):
            if _dash(doc, k):
                start = k + 1
            elif doc[k].text == ":":
                if k > start and doc[k - 1].like_num and k + 1 < sent.end \
                        and doc[k + 1].like_num and not doc[k].whitespace_:
                    continue  # a clock time: 06:30
                if k == start or any(doc[j].like_num for j in range(start, k)):
                    return None
                last = k - 1
                if doc[last].text == ")":
                    last = next((j - 1 for j in range(k - 2, start, -1) if doc[j].text == "("),
                                last)
                named = doc[last].ent_type_ in ("ORG", "PER") \
                    and not any(doc[j].ent_type_ == "LOC" for j in range(start, k))
                if named or any(start <= c.start and c.end <= k for c in reporters):
                    return TokenSpan(start, k)
                return None
        return None

    def _tag(self, sent: Span, i: int) -> TokenSpan | None:
        """A headline's closing attribution: "... kills 4 — regional governor"."""
        doc = sent.doc
        end = sent.end
        while end > i and (doc[end - 1].is_space or doc[end - 1].is_punct):
            end -= 1
        if end <= i or end - i > 5 or any(doc[k].like_num for k in range(i, end)):
            return None
        return TokenSpan(i, end)

    def actor(self, sent: Span, cues: list[Cue], trigger: int | None,
              blocked: set[int], not_actor: set[int]) -> TokenSpan | None:
        """Who did it: with a parse, the subject of the trigger verb, of the verb it hangs
        from ("Houthi forces shelled ..., killing four") or of its when-clause ("were killed
        when Russian air strikes hit"); else the marker phrase next to the trigger ("killed
        by X", "على يد X", "توسط X"). Disasters and diseases are no actor."""
        if trigger is None:
            return None
        for span in self._actor_candidates(sent, cues, trigger, blocked):
            if not any(k in not_actor for k in range(span.start, span.end)):
                return span
            return None
        return None

    def _actor_candidates(self, sent: Span, cues: list[Cue], trigger: int,
                          blocked: set[int]) -> Iterator[TokenSpan]:
        doc = sent.doc
        verb = doc[trigger]
        if parsed(doc) and verb.pos_ == "VERB":
            heads = [verb]
            if verb.dep_ in ("advcl", "conj", "xcomp") and verb.head.pos_ == "VERB":
                heads.append(verb.head)
            heads += [c for c in verb.children if c.dep_ == "advcl" and c.pos_ == "VERB"]
            for head in heads:
                for child in head.children:
                    if child.dep_ == "nsubj" and not child.like_num:
                        span = _after_dashes(doc, _subtree(child))
                        if span is not None and span.end - span.start <= self.max_subject \
                                and not any(
                                k in blocked for k in range(span.start, span.end)) \
                                and not self._pronoun(doc, span.start, span.end):
                            yield span
            active = verb.tag_ in ("VBD", "VBZ", "VBP") or (
                verb.tag_ == "VBN" and verb.i > sent.start and doc[verb.i - 1].pos_ != "AUX")
            if self.lex.setting("actor_before_verb") and active:
                span = self.phrase_before(sent, trigger, blocked)
                if span is not None and self.lex.lookup("victims", doc[span.end - 1]) is None:
                    yield span
        for cue in sorted(cues, key=lambda c: abs(c.start - trigger)):
            if abs(cue.start - trigger) > 6:
                break
            found = (self.phrase_after(sent, cue.end, blocked) if cue.label == "after"
                     else self.phrase_before(sent, cue.start, blocked))
            if found is not None:
                yield found

    def _verb_subject(self, sent: Span, cue: Cue, blocked: set[int],
                      reporters: list[Cue]) -> TokenSpan | None:
        doc = sent.doc
        verb = doc[cue.start]
        if parsed(doc) and verb.pos_ not in ("VERB", "AUX"):
            return None  # "an army post"
        if parsed(doc):
            # the subject nearest the verb ("08:42 GMT — AFAD says": AFAD)
            subjects = [c for c in verb.children if c.dep_ in _SUBJECT_DEPS]
            if not subjects and verb.tag_ == "VBG" and verb.dep_ in ("advcl", "conj") \
                    and verb.head.pos_ == "VERB":
                # "WHO gave a lower figure, saying it had confirmed 3,958 bodies"
                subjects = [c for c in verb.head.children if c.dep_ in _SUBJECT_DEPS]
            for child in sorted(subjects, key=lambda c: abs(c.i - verb.i))[:1]:
                span = _subtree(child)
                if self._pronoun(doc, span.start, span.end):
                    return None
                if span.end - span.start > self.max_subject:  # "Dr X, director of ..."
                    span = TokenSpan(child.left_edge.i, child.i + 1)
                found = _after_dashes(doc, span)
                if found is not None and found.end - found.start <= self.max_subject \
                        and not any(k in blocked for k in range(found.start, found.end)):
                    return found
        if self.verb_subject == "after":
            return (self._fronted_subject(sent, cue.start, blocked, reporters)
                    or self.phrase_after(sent, cue.end, blocked))
        if self.verb_subject == "start":
            return self.subject_at_start(sent, cue.start, blocked)
        return self.phrase_before(sent, cue.start, blocked)


def parsed(doc: Doc) -> bool:
    """Whether the doc has a dependency parse (and tags), asked once per doc: spaCy's
    `has_annotation` walks every token."""
    known = doc.user_data.get("claims_parsed")
    if known is None:
        known = doc.user_data["claims_parsed"] = doc.has_annotation("DEP")
    return bool(known)


def _linked_clause(sent: Span, figure: int, cue: Cue, links: set[int]) -> bool:
    """Whether a reporting verb after the figure opens a clause of its own ("..., فيما
    أعلنت الحكومة الحداد", "بعدما كانت السلطات قد أعلنت عن 21"): it reports that clause,
    not the figure's."""
    if cue.start <= figure:
        return False
    for k in range(cue.start - 1, figure, -1):
        if k in links:
            return True
        if sent.doc[k].is_punct:
            return False
    return False


def _only_place(doc: Doc, span: TokenSpan) -> bool:
    return all(doc[k].ent_type_ == "LOC" or doc[k].is_punct for k in range(span.start, span.end))


def _dash(doc: Doc, k: int) -> bool:
    """Whether token k separates a dateline, timestamp or headline tag from the rest: a
    dash, or a hyphen or bar with a space before it; not the hyphen inside a word
    (life-threatening, pro-government)."""
    text = doc[k].text
    return text in ("—", "–") or (text in ("-", "|") and k > 0 and bool(doc[k - 1].whitespace_))


def _dateline_dash(doc: Doc, start: int, end: int, verb: int) -> int | None:
    """The dash that ends a dateline opening at `start`, before the verb: the first
    punctuation `end` ("13:05 —", "اسلام‌آباد/کابل -"), or, after a place followed by a
    comma or a bracketed agency, one within a few tokens of the start ("Peshawar (Reuters)
    –", "Nasiriyah, Iraq –")."""
    if end >= verb:
        return None
    if _dash(doc, end):
        return end
    if end == start or doc[end].text not in ("(", ",", "،"):
        return None
    return next((k for k in range(end + 1, min(verb, start + _DATELINE_TOKENS))
                 if _dash(doc, k)), None)


def _after_dashes(doc: Doc, span: TokenSpan) -> TokenSpan | None:
    """A subject parsed together with a dateline ("KYIV, Ukraine — A Russian missile")
    starts after its last dash or colon; a dateline alone is no subject."""
    cuts = [k + 1 for k in range(span.start, span.end) if _dash(doc, k) or doc[k].text == ":"]
    if not cuts:
        return span
    return TokenSpan(cuts[-1], span.end) if cuts[-1] < span.end else None


def _subtree(token: Token) -> TokenSpan:
    return TokenSpan(token.left_edge.i, token.right_edge.i + 1)
