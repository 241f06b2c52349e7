"""Document metadata: type, own number, locality, issue date, reporting period, signer, title.

Vietnamese administrative documents follow the layout of Nghị định 30/2020/NĐ-CP: a header with
"Số: …" and "<Địa danh>, ngày … tháng … năm …", the document type in capitals ("BÁO CÁO"), the
title ("trích yếu") right under it, and the signature block (position in capitals, then the
signer's name) before any appendix. The rules below read that layout, tolerating markdown and
hard-wrapped lines.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import regex

from extractors.vn_dates import find_dates, parse_date_text
from pipeline.normalize import PageView, fold
from rules import RuleSet

_MARKUP = regex.compile(r"\*\*|__|(?<!\w)\*|\*(?!\w)|</?\w+\s*/?>|^\s*#{1,6}\s*", regex.M)
_OWN_NUMBER = regex.compile(r"(?<![\p{L}])Số\s*:\s*(\d[\p{L}\d]*)?\s*(/\s*[\p{L}\d][\p{L}\d.&()\-–/]*)?")
_PLACE_WORD = r"\p{Lu}\p{Ll}+"
# Matched on the header with markup dropped and whitespace collapsed: web exports and Word PDFs
# wrap "Hà Nội, ngày 20\ntháng 11 năm 2025" and "Quảng\nTrị, ngày …" anywhere; the comma may be missing
# (so the place must start a word: "QĐ-TTg ngày 06/01/2022" names no place "Tg").
_PLACE_DATE = regex.compile(
    rf"(?<![\p{{L}}\d/-])({_PLACE_WORD}(?:(?:\s+|\s*[–-]\s*){_PLACE_WORD}){{0,4}})\s*,?\s*ngày\b[^|]{{0,40}}?năm\s+\d{{4}}"
    rf"|(?<![\p{{L}}\d/-])({_PLACE_WORD}(?:(?:\s+|\s*[–-]\s*){_PLACE_WORD}){{0,4}})\s*,?\s*ngày\s+\d{{1,2}}\s*/\s*\d{{1,2}}\s*/\s*\d{{4}}"
)
_MOTTO = regex.compile(r"Độc\s+lập\s*[-–]\s*Tự\s+do\s*[-–]\s*Hạnh\s+phúc|CỘNG\s+H(?:ÒA|OÀ)\s+XÃ\s+HỘI\s+CHỦ\s+NGHĨA", regex.I)
_BEFORE_MOTTO = 25
"""Non-empty lines before the national motto that still belong to the header (issuer, number)."""
_LOCALITY_IN_TEXT = regex.compile(
    rf"(?:tỉnh|thành phố|TP\.?|huyện|quận|thị xã)\s+({_PLACE_WORD}(?:\s+{_PLACE_WORD}){{0,3}})"
)
_RANGE = regex.compile(
    r"từ\s+(?:ngày\s+)?(\d{1,2}\s*/\s*\d{1,2}\s*/\s*\d{4})\s*(?:\)|,)?\s*đến\s+(?:hết\s+)?(?:ngày\s+)?"
    r"(\d{1,2}\s*/\s*\d{1,2}\s*/\s*\d{4})",
    regex.I,
)
_HALF_YEAR = regex.compile(r"(6|sáu)\s+tháng\s+(đầu|cuối)\s+năm\s+(\d{4})", regex.I)
_QUARTER = regex.compile(r"quý\s+(I{1,3}|IV|[1-4])\s*(?:/|năm)\s*(\d{4})", regex.I)
_MONTH = regex.compile(r"tháng\s+(\d{1,2})\s*(?:/|năm)\s*(\d{4})", regex.I)
_WHOLE_YEAR = regex.compile(r"(?:tổng kết|kết quả)\s+(?:công tác\s+)?năm\s+(\d{4})", regex.I)
_PERSON_NAME = regex.compile(r"^\p{Lu}\p{Ll}*(?:\s+\p{Lu}\p{Ll}*){1,4}$")
_POSITION = regex.compile(
    r"\b(?:CHỦ TỊCH|TỔ TRƯỞNG|GIÁM ĐỐC|TRƯỞNG|PHÓ|KT\.|TM\.|Q\.|BÍ THƯ|CHÁNH VĂN PHÒNG|THỦ TRƯỞNG)\b"
)
_APPENDIX = regex.compile(r"^\s*(?:\*\*|#+\s*)?\s*PH[ỤU]\s*L[ỤU]C\b", regex.I)
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
_SCAN_LINES = 40


@dataclass(frozen=True, slots=True)
class DocumentFields:
    """What the metadata extractor fills in a `DocumentInfo`."""

    doc_type: str | None = None
    own_number: str | None = None
    locality: str | None = None
    issue_date: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    signer: str | None = None
    title: str | None = None


@lru_cache(maxsize=4)
def _document_types(rules: RuleSet) -> dict[str, str]:
    return {fold(t): t for t in rules.lines("document_types.txt")}


def _clean(text: str) -> str:
    return " ".join(_MARKUP.sub(" ", text).split())


def _page_lines(view: PageView) -> list[str]:
    text = view.page.text
    return [text[ln.char_start : ln.char_end] for ln in view.page.lines]


def extract_document_info(views: Sequence[PageView], rules: RuleSet) -> DocumentFields:
    """Read the document's own metadata from its first page(s) and its signature block."""
    if not views:
        return DocumentFields()
    lines = [line for view in views for line in _page_lines(view)]
    head_text = "\n".join(_header_lines([line for line in lines if line.strip()]))

    doc_type, title = _type_and_title(views, rules)
    own_number = _own_number(head_text)
    locality, issue_date = _place_and_date(head_text)
    if locality is None and title:
        m = _LOCALITY_IN_TEXT.search(title) or _LOCALITY_IN_TEXT.search(head_text)
        locality = m[1] if m else None
    is_plan = doc_type is not None and fold(doc_type) in {"kế hoạch", "chương trình", "đề án"}
    period = (None, None) if is_plan else _period(title or "", "\n".join(lines[:200]))
    return DocumentFields(
        doc_type=doc_type,
        own_number=own_number,
        locality=locality,
        issue_date=issue_date,
        period_start=period[0],
        period_end=period[1],
        signer=_signer(lines),
        title=title,
    )


def _type_and_title(views: Sequence[PageView], rules: RuleSet) -> tuple[str | None, str | None]:
    """The first heading that is a document type, and the block that follows it (the title)."""
    types = _document_types(rules)
    view = views[0]
    blocks = view.blocks
    for i, block in enumerate(blocks[:_SCAN_LINES]):
        first_piece = view.page.text[block.pieces[0][0] : block.pieces[0][1]]
        key = fold(_clean(first_piece))
        if key in types:
            # The title may follow on the same block (wrapped) or in the next block(s).
            rest = [view.page.text[s:e] for s, e in block.pieces[1:]]
            title_parts = [_clean(" ".join(rest))] if rest else []
            if not title_parts:
                for nxt in blocks[i + 1 : i + 3]:
                    text = _clean(" ".join(view.page.text[s:e] for s, e in nxt.pieces))
                    if text and not text.startswith(("Kính gửi", "Căn cứ")):
                        title_parts.append(text)
                    break
            return types[key], (" ".join(title_parts) or None)
    return None, None


def _header_lines(lines: list[str]) -> list[str]:
    """The document's header: around the national motto when there is one (a web page's chrome
    may come first), else the first lines."""
    for index, line in enumerate(lines[:400]):
        if _MOTTO.search(line):
            start = max(0, index - _BEFORE_MOTTO)
            return lines[start : start + _BEFORE_MOTTO + _SCAN_LINES]
    return lines[:_SCAN_LINES]


def _own_number(head_text: str) -> str | None:
    m = _OWN_NUMBER.search(head_text)
    if not m or not m[1]:
        return None  # "Số: /BC-…" leaves the number blank until it is issued
    return regex.sub(r"\s+", "", (m[1] or "") + (m[2] or ""))


def _place_and_date(head_text: str) -> tuple[str | None, str | None]:
    m = _PLACE_DATE.search(_clean(head_text))
    if not m:
        return None, None
    place = regex.sub(r"\s*[–-]\s*", " - ", m[1] or m[2])
    dates = find_dates(m[0])  # a blank day ("ngày   tháng 02 năm 2023") is no date
    return place, dates[0].iso if dates else None


def _period(title: str, body: str) -> tuple[str | None, str | None]:
    """The reporting period: an explicit date range (title first, then body), else a named period."""
    for text in (title, body):
        m = _RANGE.search(text)
        if m:
            start, end = parse_date_text(m[1]), parse_date_text(m[2])
            if start and end and start <= end:
                return start, end
    m = _HALF_YEAR.search(title)
    if m:
        year = int(m[3])
        first = fold(m[2]) == "đầu"
        return (f"{year}-01-01", f"{year}-06-30") if first else (f"{year}-07-01", f"{year}-12-31")
    m = _QUARTER.search(title)
    if m:
        q = _ROMAN.get(m[1].upper()) or int(m[1])
        year = int(m[2])
        last_month = q * 3
        return f"{year}-{last_month - 2:02d}-01", f"{year}-{last_month:02d}-{calendar.monthrange(year, last_month)[1]:02d}"
    m = _MONTH.search(title)
    if m and 1 <= int(m[1]) <= 12:
        year, month = int(m[2]), int(m[1])
        return f"{year}-{month:02d}-01", f"{year}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"
    m = _WHOLE_YEAR.search(title)
    if m:
        return f"{m[1]}-01-01", f"{m[1]}-12-31"
    return None, None


def _signer(lines: list[str]) -> str | None:
    """The name under the last position title (CHỦ TỊCH, TỔ TRƯỞNG, …) before any appendix."""
    end = len(lines)
    for i, line in enumerate(lines):
        if i > len(lines) // 3 and _APPENDIX.match(line):
            end = i
            break
    # The signature closes the body, before any appendix; some reports sign after their appendix.
    return _signer_in(lines[:end]) or (_signer_in(lines) if end < len(lines) else None)


def _signer_in(body: list[str]) -> str | None:
    for i in range(len(body) - 1, -1, -1):
        cleaned = _clean(body[i])
        if not cleaned or not _POSITION.search(cleaned) or any(c.islower() for c in cleaned):
            continue
        for candidate in body[i + 1 : i + 12]:
            name = _clean(candidate)
            if not name:
                continue
            if _PERSON_NAME.match(name) and any(c.islower() for c in name):
                return name
            if _POSITION.search(name) and not any(c.islower() for c in name):
                continue  # a second position line ("PHÓ CHỦ TỊCH" under "KT. CHỦ TỊCH")
            break
    return None
