"""Evaluation against labelled data: NER on CoNLL files (`ner`); claims come later."""
