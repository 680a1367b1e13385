"""Browser tests of `claims review`: Playwright driving Debian's Chromium against the real
server (store + app) on a free local port.

They check what annotators of right-to-left text depend on: a selection made in Arabic or
Persian text (with combining marks and ZWNJ) is stored with exact code-point offsets, edits
survive a reload, a stale save is refused with a conflict message, article markup is shown
as text. A screenshot of the Arabic document view goes to build/review-document.png.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)")
expect = sync_api.expect
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is not installed")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is missing (apt-get install chromium); browser tests skipped")

Page = Any  # playwright.sync_api.Page


# ---- documents -----------------------------------------------------------------------

def span(text: str, needle: str, after: int = 0) -> dict[str, Any]:
    start = text.find(needle, after)
    assert start >= 0, needle
    return {"text": needle, "start": start, "end": start + len(needle)}


def claim(text: str, figure: str, value: int | None, qualifier: str, low: int | None,
          high: int | None, category: str, confidence: float, *, victims: str | None = None,
          victims_type: str = "unspecified", source: str | None = None,
          places: tuple[str, ...] = (), time_: str | None = None) -> dict[str, Any]:
    fig = span(text, figure)
    dot = text.find(".", fig["end"])
    sentence_end = len(text) if dot < 0 else dot + 1
    sentence_start = text.rfind(".", 0, fig["start"]) + 1
    return {
        "figure": {**fig, "value": value, "low": low, "high": high, "qualifier": qualifier},
        "category": category,
        "victims": None if victims is None else {**span(text, victims, fig["end"]),
                                                 "type": victims_type},
        "actor": None,
        "source": None if source is None else span(text, source),
        "places": [span(text, p) for p in places],
        "time": None if time_ is None else span(text, time_),
        "sentence": {"start": sentence_start, "end": sentence_end},
        "confidence": confidence,
    }


# The emoji is outside the BMP: after it, UTF-16 and code-point offsets differ by one.
# «مدنياً» ends with a combining mark (tanwin fath, U+064B); "Human Rights Watch (HRW)",
# "700" and "48" are left-to-right runs inside right-to-left text; «١٬٣٨٣»: Arabic digits.
AR_TEXT = ("🔴 عاجل: أفاد المرصد السوري لحقوق الإنسان بمقتل أكثر من 700 مدنياً في ريف حماة "
           "خلال 48 ساعة. "
           "وقالت Human Rights Watch (HRW) إن ١٬٣٨٣ شخصاً نزحوا من مدينة اللاذقية.")
AR_DOC = {"id": "ar-hama", "lang": "ar", "text": AR_TEXT, "claims": [
    claim(AR_TEXT, "أكثر من 700", 700, "more_than", 701, None, "killed", 0.41,
          source="المرصد السوري لحقوق الإنسان", time_="خلال 48 ساعة"),
    claim(AR_TEXT, "١٬٣٨٣", 1383, "exact", 1383, 1383, "displaced", 0.83, victims="شخصاً",
          source="Human Rights Watch", places=("اللاذقية",)),
]}

# An emoji first (two UTF-16 units, one code point); ZWNJ (U+200C) inside «می‌گویند»,
# «دست‌کم», «استان‌های», «خبرگزاری‌ها»; the place «خوزستان» follows «استان‌های».
FA_TEXT = ("🔴 منابع محلی می‌گویند دست‌کم ۴۵ غیرنظامی در استان‌های خوزستان و کرمانشاه کشته شدند. "
           "به گفته خبرگزاری‌ها بیش از ۲۰۰ نفر نیز زخمی شدند و ۳ نفر ناپدید شدند.")
FA_DOC = {"id": "fa-khuzestan", "lang": "fa", "text": FA_TEXT, "claims": [
    claim(FA_TEXT, "دست‌کم ۴۵", 45, "at_least", 45, None, "killed", 0.52, victims="غیرنظامی",
          victims_type="civilians", source="منابع محلی", places=("کرمانشاه",)),
    claim(FA_TEXT, "بیش از ۲۰۰", 200, "more_than", 201, None, "injured", 0.66, victims="نفر"),
]}

CONFLICT_TEXT = "قالت وزارة الصحة إن 12 شخصاً قتلوا في غزة."
CONFLICT_DOC = {"id": "ar-conflict", "lang": "ar", "text": CONFLICT_TEXT, "claims": [
    claim(CONFLICT_TEXT, "12", 12, "exact", 12, 12, "killed", 0.9, victims="شخصاً",
          source="وزارة الصحة", places=("غزة",)),
]}

MARKUP = "<script>window.__pwned=1</script><b>bold</b>"
MARKUP_TEXT = f"Officials said 9 people were killed. {MARKUP} <img src=x onerror=window.__pwned=2>"
MARKUP_DOC = {"id": "en-markup", "lang": "en", "text": MARKUP_TEXT, "claims": [
    claim(MARKUP_TEXT, "9", 9, "exact", 9, 9, "killed", 0.95, victims="people",
          source="<b>bold</b>"),
]}


# ---- server and browser ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from nlp.review.app import create_app
    from nlp.review.importer import import_records
    from nlp.review.store import Store

    db = tmp_path_factory.mktemp("review") / "review.db"
    store = Store(f"sqlite:///{db}")
    import_records(store, [AR_DOC, FA_DOC, CONFLICT_DOC, MARKUP_DOC], extractor=None)
    port = free_port()
    config = uvicorn.Config(create_app(store), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the review server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def stored(base: str, doc_id: str) -> dict[str, Any]:
    """The document as the server holds it (read through the API, not the page)."""
    with urllib.request.urlopen(f"{base}/api/documents/{quote(doc_id, safe='')}") as resp:
        return json.loads(resp.read().decode("utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Session:
    """One browser context (own cookies and localStorage) for one annotator."""

    def __init__(self, browser: Any, base: str, name: str, bypass_csp: bool = False) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                           locale="en-US", bypass_csp=bypass_csp)
        self.context.add_init_script(
            f"localStorage.setItem('claims.annotator', {json.dumps(name)})")
        self.errors: list[str] = []

    def open(self, doc_id: str) -> Page:
        page = self.context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{self.base}/documents/{quote(doc_id, safe='')}")
        wait_ready(page)
        return page

    def close(self) -> None:
        self.context.close()
        assert not self.errors, f"JavaScript errors: {self.errors}"


def wait_ready(page: Page) -> None:
    page.wait_for_selector("#text [data-start]")
    page.wait_for_selector("#claims tr[data-claim-index]")


@pytest.fixture
def annotator(browser: Any, server: str) -> Iterator[Any]:
    sessions: list[Session] = []

    def make(name: str, bypass_csp: bool = False) -> Session:
        sessions.append(Session(browser, server, name, bypass_csp))
        return sessions[-1]

    yield make
    for s in sessions:
        s.close()


# ---- selecting text in the page ------------------------------------------------------

# Walks the text nodes of #text in document (= logical) order counting code points, so it
# does not rely on the data-start attributes the page's own mapping uses.
SELECT_JS = """
([start, end, backwards]) => {
  const root = document.getElementById('text');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let pos = 0, a = null, b = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const cps = Array.from(node.data);
    if (!a && start < pos + cps.length) a = [node, cps.slice(0, start - pos).join('').length];
    if (!b && end <= pos + cps.length) b = [node, cps.slice(0, end - pos).join('').length];
    pos += cps.length;
  }
  const sel = window.getSelection();
  if (backwards) sel.setBaseAndExtent(b[0], b[1], a[0], a[1]);
  else sel.setBaseAndExtent(a[0], a[1], b[0], b[1]);
  return sel.toString();
}
"""

RECT_JS = """
([start, end]) => {
  const root = document.getElementById('text');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let pos = 0;
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const cps = Array.from(node.data);
    const units = (k) => cps.slice(0, k - pos).join('').length;
    if (start >= pos && start < pos + cps.length) range.setStart(node, units(start));
    if (end > pos && end <= pos + cps.length) range.setEnd(node, units(end));
    pos += cps.length;
  }
  range.startContainer.parentElement.scrollIntoView({block: 'center'});
  const r = range.getBoundingClientRect();
  return {x: r.x + r.width / 2, y: r.y + r.height / 2, w: r.width};
}
"""


def select_text(page: Page, start: int, end: int, *, backwards: bool = False) -> str:
    return str(page.evaluate(SELECT_JS, [start, end, backwards]))


def double_click_word(page: Page, start: int, end: int) -> None:
    """Select a word the way a user does: a double click in the middle of it."""
    box = page.evaluate(RECT_JS, [start, end])
    assert box["w"] > 0
    page.mouse.dblclick(box["x"], box["y"])


def expect_selection(page: Page, start: int, end: int) -> None:
    """The page's reading of the selection (it follows 'selectionchange', asynchronously)."""
    box = page.locator("#selection")
    expect(box).to_have_attribute("data-start", str(start))
    expect(box).to_have_attribute("data-end", str(end))


def row(page: Page, index: int) -> Any:
    return page.locator(f'#claims tr[data-claim-index="{index}"]')


def press(page: Page, key: str) -> None:
    """A shortcut key, with the focus out of any form field."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press(key)


def save(page: Page, how: str = "button") -> None:
    if how == "button":
        page.click("#save")
    else:
        press(page, "Control+s")
    expect(page.locator("#message")).to_have_text(re.compile(r"^Saved"))
    assert page.locator("#dirty").is_hidden()


def by_figure(doc: dict[str, Any], start: int) -> dict[str, Any]:
    [found] = [c for c in doc["claims"] if c["figure"]["start"] == start]
    return found


# ---- tests -----------------------------------------------------------------------------

def test_arabic_place_value_category_exact_offsets(annotator: Any, server: str) -> None:
    page = annotator("ليلى").open("ar-hama")
    text = page.locator("#text")
    assert text.get_attribute("dir") == "rtl" and text.get_attribute("lang") == "ar"
    assert text.text_content() == AR_TEXT
    # Latin and digit runs are isolated, a Latin name with its bracket as one piece (though
    # the source highlight cuts it); segments know their code-point offsets.
    assert "Human Rights Watch (HRW)" in page.locator("#text bdi").all_text_contents()
    assert page.evaluate("""() => [...document.querySelectorAll('#text [data-start]')]
        .every(s => Array.from(document.getElementById('text').textContent)
        .slice(+s.dataset.start, +s.dataset.end).join('') === s.textContent)""")

    # Element boundaries (a whole segment selected, as a triple click can give).
    hrw = span(AR_TEXT, "Human Rights Watch")
    page.evaluate("""(start) => getSelection().selectAllChildren(
        document.querySelector(`#text [data-start="${start}"]`))""", hrw["start"])
    expect_selection(page, hrw["start"], hrw["end"])

    # A place: the selection includes a space on each side (trimmed) and is made backwards.
    place = span(AR_TEXT, "حماة")
    assert select_text(page, place["start"] - 1, place["end"] + 1, backwards=True) == " حماة "
    expect_selection(page, place["start"], place["end"])
    press(page, "p")
    assert row(page, 0).locator(".chip bdi").all_text_contents() == ["حماة"]

    # Victims: the selection stops before the combining tanwin, which must come along.
    victims = span(AR_TEXT, "مدنياً")
    assert AR_TEXT[victims["end"] - 1] == "\u064b"
    select_text(page, victims["start"], victims["end"] - 1)
    press(page, "v")
    assert row(page, 0).locator('[data-span="victims"] .span-text').text_content() == "مدنياً"

    # Value and category; more_than fills low = value + 1.
    row(page, 0).locator('[data-field="value"]').fill("750")
    assert row(page, 0).locator('[data-field="low"]').input_value() == "751"
    row(page, 0).locator('[data-field="category"]').select_option("injured")
    assert page.locator("#dirty").is_visible()
    save(page)

    page.reload()
    wait_ready(page)
    r0 = row(page, 0)
    assert r0.locator(".chip bdi").all_text_contents() == ["حماة"]
    assert r0.locator('[data-field="value"]').input_value() == "750"
    assert r0.locator('[data-field="low"]').input_value() == "751"
    assert r0.locator('[data-field="category"]').input_value() == "injured"
    assert r0.locator('[data-span="victims"] .span-text').text_content() == "مدنياً"
    assert page.locator(f'#text .hl-place[data-start="{place["start"]}"]').count() == 1
    page.wait_for_selector("#history table")  # the change is in the history panel

    (ROOT / "build").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "build" / "review-document.png"), full_page=True)

    c0 = by_figure(stored(server, "ar-hama"), AR_DOC["claims"][0]["figure"]["start"])
    assert c0["places"] == [place]
    assert AR_TEXT[c0["places"][0]["start"]:c0["places"][0]["end"]] == "حماة"
    assert c0["victims"] == victims
    assert (c0["figure"]["value"], c0["figure"]["low"], c0["figure"]["high"]) == (750, 751, None)
    assert c0["category"] == "injured"


def test_persian_zwnj_offsets(annotator: Any, server: str) -> None:
    page = annotator("رضا").open("fa-khuzestan")
    text = page.locator("#text")
    assert text.get_attribute("dir") == "rtl" and text.get_attribute("lang") == "fa"
    assert text.text_content() == FA_TEXT

    # The place right after a word with ZWNJ: «استان‌های خوزستان».
    place = span(FA_TEXT, "خوزستان")
    assert FA_TEXT[:place["start"]].endswith("استان\u200cهای ")
    assert select_text(page, place["start"], place["end"]) == "خوزستان"
    # The button (not the key this time): pressing it must not lose the text selection.
    row(page, 0).locator('[data-action="add-place"]').click()

    # A word containing ZWNJ, selected by a real double click, becomes claim 1's source.
    source = span(FA_TEXT, "خبرگزاری‌ها")
    assert "\u200c" in source["text"]
    press(page, "j")
    assert row(page, 1).get_attribute("aria-selected") == "true"
    double_click_word(page, source["start"], source["end"])
    expect_selection(page, source["start"], source["end"])
    press(page, "s")
    assert row(page, 1).locator('[data-span="source"] .span-text').text_content() == source["text"]

    # Qualifier and value of claim 1: at_least 250 gives low 250, high none.
    row(page, 1).locator('[data-field="qualifier"]').select_option("at_least")
    row(page, 1).locator('[data-field="value"]').fill("250")
    assert row(page, 1).locator('[data-field="low"]').input_value() == "250"
    assert row(page, 1).locator('[data-field="high"]').input_value() == ""
    row(page, 1).locator('[data-field="category"]').select_option("displaced")

    # A claim the model missed: Persian digit «۳» → value 3, exact, bounds 3..3.
    missed = span(FA_TEXT, "۳")
    select_text(page, missed["start"], missed["end"])
    press(page, "f")
    r2 = row(page, 2)
    assert [r2.locator(f'[data-field="{f}"]').input_value() for f in ("value", "low", "high")] \
        == ["3", "3", "3"]
    r2.locator('[data-field="category"]').select_option("missing")
    save(page, how="keyboard")

    page.reload()
    wait_ready(page)
    assert row(page, 0).locator(".chip bdi").all_text_contents() == ["کرمانشاه", "خوزستان"]
    assert row(page, 1).locator('[data-span="source"] .span-text').text_content() == source["text"]
    assert row(page, 1).locator('[data-field="value"]').input_value() == "250"

    doc = stored(server, "fa-khuzestan")
    c0 = by_figure(doc, FA_DOC["claims"][0]["figure"]["start"])
    c1 = by_figure(doc, FA_DOC["claims"][1]["figure"]["start"])
    assert c0["places"] == [span(FA_TEXT, "کرمانشاه"), place]
    assert FA_TEXT[place["start"]:place["end"]] == "خوزستان"
    assert c1["source"] == source
    assert (c1["figure"]["value"], c1["figure"]["low"], c1["figure"]["high"],
            c1["figure"]["qualifier"]) == (250, 250, None, "at_least")
    assert c1["category"] == "displaced"
    c2 = by_figure(doc, missed["start"])
    assert {k: c2["figure"][k] for k in ("text", "start", "end")} == missed
    assert (c2["figure"]["value"], c2["figure"]["low"], c2["figure"]["high"],
            c2["figure"]["qualifier"], c2["category"], c2["origin"]) \
        == (3, 3, 3, "exact", "missing", "annotator")

    # Done (Ctrl+Enter) finishes the document.
    press(page, "Control+Enter")
    expect(page.locator("#message")).to_contain_text("done")
    expect(page.locator('[data-testid="doc-status"]')).to_have_text("done")
    assert stored(server, "fa-khuzestan")["status"] == "done"


def test_conflict_between_two_windows(annotator: Any, server: str) -> None:
    first = annotator("Layla").open("ar-conflict")
    second = annotator("Reza").open("ar-conflict")

    row(first, 0).locator('[data-field="category"]').select_option("detained")
    save(first)

    row(second, 0).locator('[data-field="value"]').fill("15")
    second.click("#save")
    message = second.locator("#message")
    expect(message).to_contain_text("conflict")
    assert "Layla" in message.text_content()
    assert message.get_attribute("role") == "alert"
    # The refused edit is still on screen, still marked unsaved.
    assert row(second, 0).locator('[data-field="value"]').input_value() == "15"
    assert second.locator("#dirty").is_visible()

    c0 = stored(server, "ar-conflict")["claims"][0]
    assert c0["category"] == "detained"
    assert c0["figure"]["value"] == 12

    # An invalid save (a range needs a high bound) is refused with the server's reason.
    row(first, 0).locator('[data-field="qualifier"]').select_option("range")
    first.click("#save")
    expect(first.locator("#message")).to_contain_text("range")
    assert row(first, 0).locator('[data-field="qualifier"]').input_value() == "range"
    assert stored(server, "ar-conflict")["claims"][0]["figure"]["qualifier"] == "exact"


def test_article_markup_is_shown_as_text(annotator: Any) -> None:
    # Without the server's content security policy, so that only the page's own escaping
    # stands between the article and the DOM.
    page = annotator("Ada", bypass_csp=True).open("en-markup")
    text = page.locator("#text")
    assert text.get_attribute("dir") == "ltr"
    assert text.text_content() == MARKUP_TEXT
    assert "<script>window.__pwned=1</script>" in text.inner_text()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    for selector in ("#text b", "#text script", "#text img", "#claims b", "#claims img"):
        assert page.locator(selector).count() == 0, selector
    assert row(page, 0).locator('[data-span="source"] .span-text').text_content() == "<b>bold</b>"


def test_queue_filters_next_and_agreement(annotator: Any, server: str) -> None:
    session = annotator("Ada")
    page = session.context.new_page()
    page.on("pageerror", lambda exc: session.errors.append(str(exc)))
    page.goto(f"{server}/")
    expect(page.locator("#documents tbody tr[data-doc-id]")).to_have_count(4)
    page.select_option("#filter-lang", "ar")
    rows = page.locator("#documents tbody tr[data-doc-id]")
    expect(rows).to_have_count(2)
    # Least confident first.
    assert [r.get_attribute("data-doc-id") for r in rows.all()] == ["ar-hama", "ar-conflict"]
    press(page, "n")
    page.wait_for_url(re.compile(r"/documents/ar-"))
    wait_ready(page)
    assert page.locator("#text").get_attribute("dir") == "rtl"

    page.goto(f"{server}/agreement")
    expect(page.locator("#agreement section").first).to_be_visible()
    assert page.locator("#message").is_hidden()
