"""Arbitrary Unicode never raises and never yields a span that does not fit the text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp.extract import Extractor
from nlp.schema import check_offsets

_extractor = Extractor()

# Text biased towards what breaks NLP code: RTL scripts with combining marks, ZWNJ and bidi
# controls, digits in three scripts, and the words that trigger claims.
_pieces = st.sampled_from([
    " ", "\n", "\u200c", "\u200f", "\u202b", "\u0651", "\u064b", "ـ", "،", ".", "٬", "٫",
    "12", "٣٠", "۱۴", "1,084", "5.034.439", "1" * 40, "killed", "civilians", "قتل", "مدنياً",
    "öldü", "kişi", "کشته", "نفر", "🔥", "\x00", "\x07", "İ", "e\u0301",
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
