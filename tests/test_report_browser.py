"""The audit report in a real browser: headless Debian Chromium driven by selenium.

The report is built from the sample corpus plus a hostile document. While the extractors are
young they may emit nothing, so records made from real spans of the samples are added for every
empty table: the clicks below then always exercise real offsets into real text.

Set DE06_SCREENSHOT=docs/report-screenshot.png to (re)take the screenshot committed under docs/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.document import process_document
from pipeline.export import TABLE_COLUMNS, result_rows
from pipeline.ingest import triage
from pipeline.plain_text import read_text
from pipeline.report import json_for_script, write_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "corpus" / "samples"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# Each payload would set window.__pwned (or raise an alert) if the page ever executed it.
PAYLOADS = (
    "<script>window.__pwned = 1; alert(1)</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "</script><script>window.__pwned=3</script>",
    "<svg onload=window.__pwned=4>\u2028{{SCRIPT}}\u2029",
)
HOSTILE_NAME = "<img src=x onerror=window.__pwned=5>.txt"


def make_record(
    table: str, page_text: str, start: int, end: int, doc: dict[str, Any], seq: int, **fields: Any
) -> dict[str, Any]:
    """A row with SPEC provenance for `page_text[start:end]` of a text input."""
    line = page_text.count("\n", 0, start) + 1
    line_end = page_text.count("\n", 0, max(start, end - 1)) + 1
    first = page_text.rfind("\n", 0, start) + 1
    stop = page_text.find("\n", end)
    stop = len(page_text) if stop < 0 else stop
    letter = {"references": "R", "figures": "F", "services": "S", "findings": "X"}[table]
    row: dict[str, Any] = dict.fromkeys(TABLE_COLUMNS[table])
    row.update(
        id=f"{doc['doc_id']}-{letter}{9000 + seq:04d}",
        doc_id=doc["doc_id"],
        source=doc["source"],
        page=1,
        line=line,
        line_end=line_end,
        char_start=start,
        char_end=end,
        bbox=None,
        text=page_text[start:end],
        sentence="".join(" " if c.isspace() else c for c in page_text[first:stop]),
        sentence_start=first,
        sentence_end=stop,
        method="text",
        confidence=None,
    )
    row.update(fields)
    return row


def build_corpus(out_dir: Path, work: Path) -> tuple[Path, dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """Run the samples and a hostile document through the pipeline and write the report."""
    hostile = work / HOSTILE_NAME
    hostile.write_text(
        "BÁO CÁO thử nghiệm\n"
        + "\n".join(f"Dòng {i}: {p} đạt 12,5%." for i, p in enumerate(PAYLOADS, 1))
        + "\n",
        encoding="utf-8",
    )
    paths = [*sorted(SAMPLES.glob("*.txt")), hostile]
    results = [process_document(p) for p in paths]
    tables = result_rows(results)
    page_texts = {}
    for path in paths:
        input_file = triage(path)
        page_texts[input_file.doc_id] = [{"page": 1, "text": p.text} for p in read_text(input_file).pages]
    docs = {d["source"]: d for d in tables["documents"]}
    sample = next(d for s, d in docs.items() if s.endswith("000_7447eb4df85dea24.txt"))
    evil = next(d for s, d in docs.items() if s.endswith(HOSTILE_NAME))
    text = page_texts[sample["doc_id"]][0]["text"]
    evil_text = page_texts[evil["doc_id"]][0]["text"]

    # Real spans of sample 000: "85,29%" in prose (l. 53) and in the appendix total row (l. 235).
    prose = text.index("85,29%")
    row_start = text.index("<b>Tổng số</b>")
    row_end = text.index("\n", row_start)
    in_row = text.index("85,29%", row_start)
    ref = text.index("Công văn số 376/TCTĐA06")
    synthetic = {
        "figures": [
            make_record(
                "figures",
                text,
                prose,
                prose + 6,
                sample,
                1,
                value=85.29,
                kind="percent",
                unit="%",
                label="hồ sơ trực tuyến",
            ),
            make_record(
                "figures", text, in_row, in_row + 6, sample, 2, value=85.29, kind="percent", unit="%"
            ),
            make_record(
                "figures",
                evil_text,
                evil_text.index("12,5%"),
                evil_text.index("12,5%") + 5,
                evil,
                1,
                value=12.5,
                kind="percent",
                unit="%",
            ),
        ],
        "references": [
            make_record(
                "references",
                text,
                ref,
                ref + len("Công văn số 376/TCTĐA06"),
                sample,
                1,
                type="Công văn",
                number="376/TCTĐA06",
                doc_key="Công văn 376/TCTĐA06",
                date="2022-04-27",
            ),
            make_record(
                "references",
                evil_text,
                evil_text.index(PAYLOADS[0]),
                evil_text.index(PAYLOADS[0]) + len(PAYLOADS[0]),
                evil,
                1,
                type=PAYLOADS[1],
                number=PAYLOADS[2],
                doc_key=PAYLOADS[0],
            ),
        ],
        "services": [
            make_record(
                "services",
                text,
                row_start,
                row_end,
                sample,
                1,
                service_id=None,
                catalog="25",
                name_text="Tổng số",
                source_kind="table",
                total=42328.0,
                online=36100.0,
                rate_reported=85.29,
                flags=[],
            ),
        ],
        "findings": [
            make_record(
                "findings",
                text,
                in_row,
                in_row + 6,
                sample,
                1,
                kind="rate_mismatch",
                message="36.017 / 42.328 = 85,09%, reported 85,29%",
                record_ids=[],
            ),
        ],
    }
    for table, rows in synthetic.items():
        if not tables[table]:
            tables[table] = rows
        else:  # the hostile document always gets a record whose fields hold the payloads
            tables[table] += [r for r in rows if r["doc_id"] == evil["doc_id"] and table == "references"]
    report = write_report(out_dir, tables, page_texts)
    return report, tables, {"sample": sample, "evil": evil}


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, list[dict[str, Any]]], dict[str, Any]]:
    base = tmp_path_factory.mktemp("report")
    (base / "in").mkdir()
    return build_corpus(base / "out", base / "in")


def test_report_is_self_contained_and_escaped(built: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    report, tables, docs = built
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page), "no network resources"
    assert '<link rel="stylesheet"' not in page
    files = report.parent / "report_files"
    assert (files / "records.js").is_file()
    data = "".join(p.read_text(encoding="utf-8") for p in [report, *files.glob("*.js")])
    for payload in (*PAYLOADS, HOSTILE_NAME):
        assert payload not in data, "raw markup from a document reached a page or script"
    assert "\u2028" not in data and "\u2029" not in data
    # Every emitted record points at text the report carries (SPEC: text == page[start:end]).
    doc_file = files / f"doc-{docs['sample']['doc_id']}.js"
    payload = json.loads(
        re.fullmatch(r"DE06\.doc\(\"[0-9a-f]+\",(.*)\);\n", doc_file.read_text("utf-8"), re.S)[1]
    )
    assert payload["records"] and all(r["_ok"] for r in payload["records"])


def test_json_for_script_escapes_breakouts() -> None:
    text = json_for_script({"t": "</script><b>&\u2028\u2029"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"t": "</script><b>&\u2028\u2029"}


# ---------------------------------------------------------------- browser tests


def _chromium_ready() -> str | None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        return "needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs the selenium package (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _chromium_ready()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="de06-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,800",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium never tries to download one.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(driver: Any, report: Path, fragment: str = "") -> None:
    driver.get(report.as_uri() + fragment)
    _wait(driver, "return document.querySelectorAll('#doc-index tbody tr').length > 0")
    driver.get_log("browser")  # start each test with an empty console


def _wait(driver: Any, script: str, timeout: float = 10, args: tuple[Any, ...] = ()) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script, *args))


def _severe(driver: Any) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def _active_text(driver: Any) -> str:
    return str(
        driver.execute_script(
            "return Array.from(document.querySelectorAll('#viewer mark.active')).map(e => e.textContent).join('')"
        )
    )


def _pwned(driver: Any) -> Any:
    return driver.execute_script("return window.__pwned === undefined ? null : window.__pwned")


def _show_records(driver: Any, kind: str = "", doc: str = "", text: str = "") -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.find_element(By.ID, "tab-records").click()
    _wait(driver, "return /records|bản ghi/.test(document.getElementById('records-status').textContent)")
    Select(driver.find_element(By.ID, "f-doc")).select_by_value(doc)
    Select(driver.find_element(By.ID, "f-kind")).select_by_value(kind)
    box = driver.find_element(By.ID, "f-text")
    box.clear()
    if text:
        box.send_keys(text)
    driver.execute_script("return new Promise(r => setTimeout(r, 300))")  # the filter's debounce
    # Wait until the rows shown are the filtered ones (not the previous render).
    _wait(
        driver,
        "const rows = Array.from(document.querySelectorAll('#records tbody tr'));"
        "return rows.length > 0 && rows.every(r => (!arguments[0] || r.dataset.table === arguments[0])"
        " && (!arguments[1] || r.dataset.doc === arguments[1]))",
        args=(kind, doc),
    )


@pytest.mark.browser
def test_index_lists_every_document(browser: Any, built: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    report, tables, _ = built
    _open(browser, report)
    # The worklist comes first: every finding of every document, each a row that opens it.
    findings = len(tables["findings"])
    assert findings >= 1
    assert not browser.find_element("id", "records-pane").get_attribute("hidden")
    assert browser.find_element("id", "tab-findings").text == f"Phát hiện ({findings})"  # Vietnamese first
    _wait(browser, f"return document.querySelectorAll('#records tbody tr').length === {findings}")
    browser.find_element("id", "tab-docs").click()
    rows = browser.execute_script(
        "return Array.from(document.querySelectorAll('#doc-index tbody tr')).map(r => r.dataset.doc)"
    )
    assert rows == [d["doc_id"] for d in tables["documents"]]
    names = browser.find_element("id", "doc-index").text
    for doc in tables["documents"]:
        assert Path(doc["source"]).name in names
    assert _severe(browser) == []


@pytest.mark.browser
def test_clicking_a_figure_flashes_its_span(
    browser: Any, built: tuple[Path, dict[str, Any], dict[str, Any]]
) -> None:
    from selenium.webdriver.common.by import By

    report, tables, _ = built
    _open(browser, report)
    figure = next(f for f in tables["figures"] if f["text"])
    _show_records(browser, kind="figures", doc=figure["doc_id"])
    browser.find_element(By.CSS_SELECTOR, f'#records tbody tr[data-id="{figure["id"]}"]').click()
    _wait(browser, "return document.querySelectorAll('#viewer mark.active').length > 0")
    assert _active_text(browser) == figure["text"]
    details = browser.find_element(By.ID, "details").text
    assert figure["id"] in details and f"de06 trace {figure['id']}" in details
    assert browser.execute_script("return location.hash") == f"#rec={figure['id']}"
    # The span is scrolled into the viewer's visible area.
    assert browser.execute_script(
        "const m = document.querySelector('#viewer mark.active').getBoundingClientRect();"
        "const v = document.getElementById('viewer').getBoundingClientRect();"
        "return m.top >= v.top && m.bottom <= v.bottom"
    )
    assert _severe(browser) == []


@pytest.mark.browser
def test_a_span_links_back_to_its_records(
    browser: Any, built: tuple[Path, dict[str, Any], dict[str, Any]]
) -> None:
    from selenium.webdriver.common.by import By

    report, tables, _ = built
    figure = next(f for f in tables["figures"] if f["text"])
    _open(browser, report, f"#rec={figure['id']}")  # a deep link opens the document and the record
    _wait(browser, "return document.querySelectorAll('#viewer mark.active').length > 0")
    assert _active_text(browser) == figure["text"]
    browser.find_element(By.CSS_SELECTOR, "#viewer mark.active").click()
    assert figure["id"] in browser.find_element(By.ID, "details").text
    # Every record of that document that holds its text has exactly its text highlighted.
    for table in ("references", "services", "findings"):
        for rec in [r for r in tables[table] if r["doc_id"] == figure["doc_id"]][:3]:
            browser.execute_script("location.hash = arguments[0]", f"#rec={rec['id']}")
            _wait(
                browser,
                f"return location.hash === {json.dumps('#rec=' + rec['id'])} && "
                "document.querySelectorAll('#viewer mark.active').length > 0",
            )
            assert _active_text(browser) == rec["text"], rec["id"]
    assert _severe(browser) == []


@pytest.mark.browser
def test_text_filter(browser: Any, built: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    report, _, _ = built
    _open(browser, report)
    _show_records(browser, text="85,29")
    texts = browser.execute_script(
        "return Array.from(document.querySelectorAll('#records tbody tr')).map(r => r.textContent)"
    )
    assert texts and all("85,29" in t for t in texts)


@pytest.mark.browser
def test_injection_document_stays_inert(
    browser: Any, built: tuple[Path, dict[str, Any], dict[str, Any]]
) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    report, tables, docs = built
    evil = docs["evil"]
    _open(browser, report)
    browser.find_element(By.ID, "tab-docs").click()
    assert HOSTILE_NAME in browser.find_element(By.ID, "doc-index").text
    browser.find_element(By.CSS_SELECTOR, f'#doc-index tbody tr[data-doc="{evil["doc_id"]}"]').click()
    _wait(browser, "return document.querySelectorAll('#viewer pre.pagetext').length > 0")
    shown = browser.find_element(By.ID, "viewer").get_attribute("textContent")
    for payload in PAYLOADS:
        assert payload.replace("\u2028", "").replace("\u2029", "") in shown.replace("\u2028", "").replace(
            "\u2029", ""
        )
    # The records table and details show the hostile fields as text too.
    rec = next(r for r in tables["references"] if r["doc_id"] == evil["doc_id"] and r["text"] == PAYLOADS[0])
    row = f'#records tbody tr[data-id="{rec["id"]}"]'
    _wait(browser, "return document.querySelector(arguments[0]) !== null", args=(row,))
    browser.find_element(By.CSS_SELECTOR, row).click()
    _wait(browser, "return document.querySelectorAll('#viewer mark.active').length > 0")
    assert _active_text(browser) == PAYLOADS[0]
    assert PAYLOADS[2] in browser.find_element(By.ID, "details").get_attribute("textContent")
    assert (
        browser.execute_script(
            "return document.querySelectorAll('#viewer img, #viewer script, #viewer svg, #details img, #details svg,"
            " #records img, #doc-index img').length"
        )
        == 0
    )
    assert _pwned(browser) is None
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - raises when no alert is open
    assert _severe(browser) == []


@pytest.mark.browser
def test_screenshot(browser: Any, built: tuple[Path, dict[str, Any], dict[str, Any]]) -> None:
    """Open sample 000 and click its "85,29%" figure: the span is marked in the text."""
    from selenium.webdriver.common.by import By

    report, tables, docs = built
    figure = next(
        f for f in tables["figures"] if f["doc_id"] == docs["sample"]["doc_id"] and "85,29" in f["text"]
    )
    _open(browser, report)
    _show_records(browser, doc=figure["doc_id"])
    browser.find_element(By.CSS_SELECTOR, f'#records tbody tr[data-id="{figure["id"]}"]').click()
    _wait(browser, "return document.querySelectorAll('#viewer mark.active').length > 0")
    browser.execute_script("return new Promise(r => setTimeout(r, 1500))")  # let the flash fade
    assert _active_text(browser) == figure["text"]


def test_nan_values_do_not_break_the_data_files() -> None:
    assert json.loads(json_for_script({"rate": float("nan"), "x": [float("inf"), 1.5]})) == {
        "rate": None,
        "x": [None, 1.5],
    }


@pytest.mark.browser
def test_page_image_boxes(browser: Any, tmp_path: Path) -> None:
    """PDF/scan pages: the page image with each record's box, scaled from bbox / page size."""
    from PIL import Image

    text = "Tổng số hồ sơ đạt 85,29%"
    start = text.index("85,29%")
    (tmp_path / "pages").mkdir()
    Image.new("RGB", (400, 200), "white").save(tmp_path / "pages" / "p1.png")
    doc = {"doc_id": "0123456789ab", "source": "scan.pdf", "format": "pdf-ocr", "status": "ok", "pages": 1}
    record = make_record("figures", text, start, start + 6, doc, 1, value=85.29, kind="percent")
    record.update(bbox=[50.0, 20.0, 100.0, 40.0], method="ocr:tesseract-5-vie", confidence=88.0)
    tables = {"documents": [doc], "figures": [record]}
    pages = {
        doc["doc_id"]: [{"page": 1, "text": text, "width": 200.0, "height": 100.0, "image": "pages/p1.png"}]
    }
    report = write_report(tmp_path, tables, pages)
    _open(browser, report, f"#rec={record['id']}")
    _wait(browser, "return document.querySelectorAll('#viewer .box.active').length === 1")
    box = browser.execute_script(
        "const b = document.querySelector('#viewer .box.active').style; return [b.left, b.top, b.width, b.height]"
    )
    assert box == ["25%", "20%", "25%", "20%"]
    assert browser.execute_script("return document.querySelector('#viewer .pageimg img').naturalWidth") == 400
    assert _active_text(browser) == "85,29%"
    assert _severe(browser) == []


@pytest.mark.browser
def test_labels_are_vietnamese_with_an_english_toggle(
    browser: Any, built: tuple[Path, dict[str, Any], dict[str, Any]]
) -> None:
    report, _, _ = built
    _open(browser, report)
    text = lambda i: browser.find_element("id", i).text  # noqa: E731
    assert (text("tab-docs"), text("tab-records"), text("lang")) == ("Văn bản", "Bản ghi", "English")
    assert browser.execute_script("return document.documentElement.lang") == "vi"
    browser.find_element("id", "lang").click()
    assert (text("tab-docs"), text("tab-records"), text("lang")) == ("Documents", "Records", "Tiếng Việt")
    assert text("tab-findings").startswith("Findings (")
    assert "documents (" in text("summary")
    assert _severe(browser) == []


@pytest.mark.browser
def test_a_service_value_is_outlined_in_its_own_cell(browser: Any, tmp_path: Path) -> None:
    """Clicking a service row outlines the row and, inside it, the cell of each of its values."""
    from PIL import Image

    text = "4\tĐăng ký tạm trú\t657\t664\t98,95%"
    (tmp_path / "pages").mkdir()
    Image.new("RGB", (400, 200), "white").save(tmp_path / "pages" / "p1.png")
    doc = {"doc_id": "0123456789ab", "source": "scan.pdf", "format": "pdf-ocr", "status": "ok", "pages": 1}
    record = make_record("services", text, 0, len(text), doc, 1, service_id=4, total=664.0, online=657.0)
    cell = {"page": 1, "line": 1, "char_start": text.index("664"), "char_end": text.index("664") + 3,
            "text": "664", "bbox": [120.0, 10.0, 140.0, 20.0], "confidence": 90.0}
    record.update(bbox=[10.0, 10.0, 190.0, 20.0], method="ocr:tesseract-5-vie", confidence=88.0,
                  field_cells={"total": cell})
    pages = {doc["doc_id"]: [{"page": 1, "text": text, "width": 200.0, "height": 100.0, "image": "pages/p1.png"}]}
    report = write_report(tmp_path, {"documents": [doc], "services": [record]}, pages)
    _open(browser, report, f"#rec={record['id']}")
    _wait(browser, "return document.querySelectorAll('#viewer .cellbox.active').length === 1")
    box = browser.execute_script(
        "const b = document.querySelector('#viewer .cellbox.active'); "
        "return [b.dataset.cell, b.style.left, b.style.top, b.style.width, b.style.height]"
    )
    assert box == ["total", "60%", "10%", "10%", "10%"]
    assert "total: 664" in browser.execute_script("return document.getElementById('details').textContent")
    assert _severe(browser) == []


@pytest.mark.browser
def test_control_and_direction_characters_are_shown_not_obeyed(browser: Any, tmp_path: Path) -> None:
    """A right-to-left override must not show 1.234 as 432.1; an ESC is shown, not sent."""
    text = "Đã cấp \u202e1.234\u202c thẻ \x1b]52;c;eA==\x07 xong"
    start = text.index("1.234")
    doc = {"doc_id": "0123456789ac", "source": "bidi.txt", "format": "text", "status": "ok", "pages": 1}
    record = make_record("figures", text, start, start + 5, doc, 1, value=1234.0, kind="count")
    pages = {doc["doc_id"]: [{"page": 1, "text": text, "width": None, "height": None, "image": None}]}
    report = write_report(tmp_path, {"documents": [doc], "figures": [record]}, pages)
    _open(browser, report, f"#rec={record['id']}")
    _wait(browser, "return document.querySelectorAll('#viewer mark').length >= 1")
    shown = browser.execute_script("return document.querySelector('#viewer .pagetext').textContent")
    assert "\u202e" not in shown and "\x1b" not in shown and "\x07" not in shown
    assert "\u21c41.234\u21c4" in shown and "\u241b" in shown
    assert _active_text(browser) == "1.234"
    assert _severe(browser) == []


@pytest.mark.slow
@pytest.mark.browser
def test_a_finding_opens_its_service_cell_on_the_page_image_beside_the_text(browser: Any, tmp_path: Path) -> None:
    """The auditor's path on a real run over a PDF: the worklist, a finding, its service row, the
    cell of the printed rate outlined on the page image beside the text. With DE06_SCREENSHOT=path,
    this is docs/report-screenshot.png."""
    from selenium.webdriver.common.by import By

    from pipeline.cli import main
    from tests.resources import make_fixtures as fx

    sample = sorted((ROOT / "corpus" / "samples").glob("000_*.txt"))[0]
    text = sample.read_text(encoding="utf-8").replace("\t98,95%\t", "\t97,95%\t", 1)  # a printed rate that is wrong
    pdf = fx.report_pdf(tmp_path / "bao-cao-thang.pdf", text)
    out = tmp_path / "out"
    assert main(["run", str(pdf), "--out", str(out), "--quiet", "--ocr", "never"]) == 0
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    finding = next(f for f in findings if f["kind"] == "rate_mismatch")
    service_id = finding["record_ids"][0]
    _open(browser, out / "report.html")
    _wait(browser, f"return !!document.querySelector('#records tbody tr[data-id=\"{finding['id']}\"]')")
    browser.find_element(By.CSS_SELECTOR, f'#records tbody tr[data-id="{finding["id"]}"]').click()
    _wait(browser, "return !!document.querySelector('#details button.link')")
    button = next(b for b in browser.find_elements(By.CSS_SELECTOR, "#details dd button.link") if b.text == service_id)
    button.click()
    _wait(browser, "return document.querySelectorAll('#viewer .cellbox.active').length >= 3")
    rate = browser.execute_script(
        "return Array.from(document.querySelectorAll('#viewer .cellbox.active')).map(b => b.dataset.cell)"
    )
    assert "rate_reported" in rate and "total" in rate
    layout = browser.execute_script(
        "const s = document.querySelector('#viewer .cellbox.active').closest('section');"
        "const img = s.querySelector('.pageimg').getBoundingClientRect(), txt = s.querySelector('pre').getBoundingClientRect();"
        "return [s.className, img.right <= txt.left + 1, img.top < txt.bottom && img.bottom > txt.top]"
    )
    assert layout == ["page with-image", True, True]  # the page image and its text side by side
    browser.execute_script("return new Promise(r => setTimeout(r, 1500))")  # let the flash fade
    target = os.environ.get("DE06_SCREENSHOT")
    if target:
        import io

        from PIL import Image

        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()  # a 256-colour PNG keeps the committed screenshot small
        Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB").quantize(256).save(buffer, "PNG", optimize=True)
        path.write_bytes(buffer.getvalue())
        assert path.stat().st_size < 400_000
    assert _severe(browser) == []
