"""The span invariants every record keeps, for tests over any format."""

from __future__ import annotations

from pipeline.types import Provenance


def spaced(text: str) -> str:
    """`text` with each whitespace character made a space, as a record's sentence holds it."""
    return "".join(" " if c.isspace() else c for c in text)


def span_problems(prov: Provenance, page_text: str) -> list[str]:
    """What is wrong with a record's span and sentence on its page ([] when nothing)."""
    problems = []
    if page_text[prov.char_start : prov.char_end] != prov.text:
        problems.append("the page text at char_start:char_end is not the record's text")
    if not prov.sentence_start <= prov.char_start <= prov.char_end <= prov.sentence_end:
        problems.append("the span is not inside its sentence")
    if prov.sentence != spaced(page_text[prov.sentence_start : prov.sentence_end]):
        problems.append("the sentence is not the page text at sentence_start:sentence_end")
    marked = prov.sentence[prov.char_start - prov.sentence_start : prov.char_end - prov.sentence_start]
    if marked != spaced(prov.text):
        problems.append(f"the sentence holds {marked!r} at the span's offsets")
    return problems
