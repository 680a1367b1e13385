"""Arbitrary Unicode never raises and never yields a span that does not fit the text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp.extract import Extractor
from nlp.schema import check_offsets

_extractor = Extractor()

# Text biased towards what breaks NLP code: RTL scripts with combining marks, ZWNJ/ZWJ and
# bidi controls (marks, embeddings, overrides, isolates), digits in three scripts up to
# thousands of digits long (past Python's 4,300-digit int() limit), emoji sequences, control
# characters and line separators, and the words that trigger claims.
_pieces = st.sampled_from([
    " ", "\n", "\u200c", "\u200d", "\u200e", "\u200f", "\u202b", "\u202e", "\u2066",
    "\u2069", "\u0651", "\u064b", "\u0651\u064b\u0652", "ـ", "،", ".", "٬", "٫",
    "12", "٣٠", "۱۴", "1,084", "5.034.439", "1" * 40, "9" * 1000, "٣" * 1000, "۴" * 1000,
    "1," * 400 + "000", "7" * 4400, "killed", "civilians", "قتل", "مدنياً", "öldü", "kişi",
    "کشته", "نفر", "🔥", "👨\u200d👩\u200d👧", "🇸🇾", "👍🏽", "\x00", "\x07", "\x1b", "\x7f",
    "\u0085", "\u2028", "\ufeff", "\r", "İ", "e\u0301", "a\u0300\u0301\u0302\u0303",
])
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(_pieces, st.text(max_size=5)), max_size=60).map("".join),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, lang=st.sampled_from([None, "en", "ar", "tr", "fa"]))
def test_any_text_gives_a_valid_result(text: str, lang: str | None) -> None:
    result = _extractor(text, lang=lang)
    assert result.error is None
    assert check_offsets(result, text) == []
    for claim in result.claims:
        assert claim.figure.value is None or claim.figure.value >= 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, lang=st.sampled_from([None, "en", "ar"]),
       where=st.sampled_from(["text", "id", "meta"]))
def test_lone_surrogates_give_one_writable_error_record(text: str, lang: str | None,
                                                        where: str) -> None:
    """A JSON escape such as "\\ud800" yields a string that is not Unicode: the document
    becomes an error record that can still be written as UTF-8, never an exception."""
    record: dict[str, object] = {"id": "doc", "text": text + "\ud800", "lang": lang}
    if where == "id":
        record.update(id="doc\udc00", text=text)
    elif where == "meta":
        record.update(text=text, meta={"note": "\ud83d"})
    (result,) = _extractor.pipe([record])
    assert result.error is not None and "not valid Unicode" in result.error
    result.to_json().encode("utf-8")
