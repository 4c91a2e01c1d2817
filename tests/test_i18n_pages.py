"""The executed pages of the Spanish and Chinese editions read in their language.

The chapters run once and draw every output in the three languages
(:mod:`citybridge.texts`); these tests read the built city and comparison
pages of each edition as a reader does: the visible text of the article
(code, scripts and the map frames left out), its share of English function
words, and, in the Spanish edition, how numbers are written.
"""
from __future__ import annotations

import re

import pytest

from html.parser import HTMLParser

from test_i18n_book import english_share, visible_text

pytestmark = pytest.mark.book


class _Outputs(HTMLParser):
    """Text of a page's computed outputs (``cell_output`` blocks), less scripts, styles and code."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # open <div>s since the current output began (0: outside any output)
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "div" and (self.depth or "cell_output" in cls):
            self.depth += 1
        if self.depth and tag in ("script", "style", "code", "pre"):
            self.skip += 1
        if self.depth and tag in ("p", "td", "th", "li", "figcaption", "br"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag == "div" and self.depth:
            self.depth -= 1
        if self.skip and tag in ("script", "style", "code", "pre"):
            self.skip -= 1

    def handle_data(self, data):
        if self.depth and not self.skip:
            self.parts.append(data)


def output_text(page) -> str:
    p = _Outputs()
    p.feed(page.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", "".join(p.parts))


def _pages(index, lang: str) -> list:
    root = index.parent / lang
    return sorted([*(root / "cities").rglob("*.html"), *(root / "compare").rglob("*.html")])


def test_every_executed_page_exists_in_each_edition(built_book):
    _, _, index = built_book
    en = [p.relative_to(index.parent / "en") for p in _pages(index, "en")]
    assert len(en) >= 20  # two cities' chapters and the comparison
    for lang in ("es", "zh"):
        assert [p.relative_to(index.parent / lang) for p in _pages(index, lang)] == en


@pytest.mark.parametrize("lang", ["es", "zh"])
def test_executed_pages_read_in_their_language(built_book, lang):
    """Narrative and computed outputs alike: an English sentence left in a page shows
    as English function words; the English page itself is measured as the yardstick."""
    _, _, index = built_book
    bad = []
    for page in _pages(index, lang):
        rel = page.relative_to(index.parent / lang)
        en = english_share(visible_text(index.parent / "en" / rel))
        assert en > 0.10, f"en/{rel}: the test no longer recognises English ({en:.2f})"
        text = visible_text(page)
        share = english_share(text)
        if share >= 0.02:
            words = re.findall(r"[A-Za-z']+", text)
            bad.append(f"{lang}/{rel}: {share:.1%} English function words, e.g. "
                       + " ".join(w for w in words if len(w) > 3)[:300])
        if lang == "zh":
            assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 200, f"{lang}/{rel}: hardly any Chinese"
    assert not bad, "\n".join(bad)


def test_spanish_pages_write_computed_numbers_the_chilean_way(built_book):
    """7.400.741 and 20,7 in every Spanish page, tables and sentences computed at execution included."""
    _, _, index = built_book
    grouped = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")
    decimal_point = re.compile(r"(?<![\w.,])\d+\.\d{1,2}(?![\d.,])")  # not PM2.5, not SDG 11.2.1
    seen = 0
    for page in _pages(index, "es"):
        rel = page.relative_to(index.parent / "es")
        text = visible_text(page)
        for n in set(grouped.findall(visible_text(index.parent / "en" / rel))):
            assert not re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d,])", text), f"es/{rel}: {n} written the English way"
        # in the computed outputs (the narrative's numbers are checked on the hand-written pages; exercise
        # numbers such as "ejercicio 03.1" are names, not decimals)
        out = output_text(page)  # (a city's index page has none: it is written by the build)
        # (nor are the numbers of cited tables and licences: "cuadros 1.2 y 1.4", "CC BY 4.0")
        bad = [m for m in decimal_point.finditer(out)
               if not re.search(r"(jercicio|cuadros?|BY|y) $", out[max(0, m.start() - 12):m.start()])]
        assert not bad, f"{page}: decimal point in {out[max(0, bad[0].start() - 60):bad[0].end() + 20]!r}"
        seen += len(re.findall(r"(?<![\d.,])\d{1,3}(?:\.\d{3})+(?![\d.])", text))
    assert seen > 50  # the pages do carry thousands (populations, trips, vehicle-km)
