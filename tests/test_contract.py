"""The output contract: schema validation and exact offsets on RTL text."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from nlp.extract import Extractor
from nlp.normalize import get_normalizer
from nlp.schema import Claim, Figure, InputRecord, Result, Span, check_offsets, json_schema


def test_span_text_must_fit_its_offsets() -> None:
    Span(text="abc", start=3, end=6)
    with pytest.raises(ValidationError):
        Span(text="abc", start=3, end=5)
    with pytest.raises(ValidationError):
        Span(text="", start=4, end=3)


def test_vocabularies_are_closed() -> None:
    figure = {"text": "7", "start": 0, "end": 1, "value": 7, "low": 7, "high": 7,
              "qualifier": "exact"}
    Figure.model_validate(figure)
    with pytest.raises(ValidationError):
        Figure.model_validate({**figure, "qualifier": "roughly"})
    claim = {"figure": figure, "category": "killed", "sentence": {"start": 0, "end": 1},
             "confidence": 0.5}
    Claim.model_validate(claim)
    for bad in ({"category": "murdered"}, {"confidence": 1.5}):
        with pytest.raises(ValidationError):
            Claim.model_validate({**claim, **bad})


def test_input_record_requires_string_id_and_text() -> None:
    InputRecord.model_validate({"id": "a", "text": "", "extra": 1})
    for bad in ({"id": "a"}, {"text": "x"}, {"id": 3, "text": "x"}, {"id": "a", "text": None},
                {"id": "", "text": "x"}):
        with pytest.raises(ValidationError):
            InputRecord.model_validate(bad)


def test_result_json_omits_absent_meta_and_keeps_present_meta() -> None:
    assert "meta" not in json.loads(Result(id="a").to_json())
    meta = {"url": "https://example.org/x", "nested": {"k": [1, 2]}}
    assert json.loads(Result(id="a", meta=meta).to_json())["meta"] == meta


def test_json_schema_describes_both_records() -> None:
    schema = json_schema()
    assert set(schema["result"]["properties"]) >= {"id", "lang", "lang_score", "claims",
                                                   "entities", "error"}
    assert schema["input"]["required"] == ["id", "text"]


# Arabic with full diacritics and tatweel, Persian with ZWNJ and Arabic-keyboard letters,
# Turkish with dotted capitals: normalisation drops or maps characters, offsets must not move.
RTL_CASES = [
    ("ar", "قَالَ المَرْصَدُ إِنَّ ٢٣ مَدَنِيًّا قُتِلُوا فِي إِدْلِبَ، وَأُصِيبَ ٤١ آخَرُونَ.",
     [("٢٣", "killed", "مَدَنِيًّا"), ("٤١", "injured", "آخَرُونَ")]),
    ("ar", "وقُتـــل 12 مدنياً", [("12", "killed", "مدنياً")]),
    ("fa", "در این حمله ۱۴ غیر‌نظامی کشته و ۳۲ نفر زخمی شدند.",
     [("۱۴", "killed", "غیر‌نظامی"), ("۳۲", "injured", "نفر")]),
    ("fa", "در اين حمله ۹ نفر جان‌باختند و ۶۰۰۰ نفر آواره شده‌اند.",
     [("۹", "killed", "نفر"), ("۶۰۰۰", "displaced", "نفر")]),
    ("tr", "İZMİR'de 4 kişi öldü, 12 kişi yaralandı.",
     [("4", "killed", "kişi"), ("12", "injured", "kişi")]),
]


@pytest.mark.parametrize(("lang", "text", "expected"), RTL_CASES)
def test_offsets_are_exact_on_normalised_scripts(extractor: Extractor, lang: str, text: str,
                                                 expected: list[tuple[str, str, str | None]]
                                                 ) -> None:
    result = extractor(text, lang=lang)
    assert result.error is None
    assert check_offsets(result, text) == []
    got = [(c.figure.text, c.category, c.victims.text if c.victims else None)
           for c in result.claims]
    assert got == expected


def test_normalised_offsets_map_back_to_the_original() -> None:
    text = "قُتِلَ مَدَنِيًّا في إدلبَ"
    norm = get_normalizer("ar").with_offsets(text)
    assert norm.text == "قتل مدنيا في ادلب"
    i = norm.text.index("مدنيا")
    assert text[norm.start(i) : norm.end(i + len("مدنيا"))] == "مَدَنِيًّا"
    i = norm.text.index("ادلب")
    assert text[norm.start(i) : norm.end(i + 4)] == "إدلبَ"


def test_check_offsets_reports_a_wrong_span() -> None:
    text = "12 civilians were killed"
    good = Extractor()(text, lang="en")
    assert check_offsets(good, text) == []
    bad = good.model_copy(deep=True)
    bad.claims[0].figure.start += 1
    bad.claims[0].figure.end += 1
    assert check_offsets(bad, text)
