"""Sentence boundaries at line breaks: headlines, datelines and list items carry no full
stop, and a claim must not borrow the trigger or source of the paragraph below it."""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc


@Language.component("claims_lines", assigns=["token.is_sent_start"])
def line_breaks(doc: Doc) -> Doc:
    """Mark the token after a whitespace token holding a newline as a sentence start; leaves
    every other token unset, so the sentencizer or parser decides there."""
    for token in doc[1:-1]:
        if token.is_space and "\n" in token.text:
            doc[token.i + 1].is_sent_start = True
    return doc
