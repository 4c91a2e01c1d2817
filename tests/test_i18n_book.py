"""The three editions, built from the hand-written pages (book): complete sites, in their
language and number conventions, with switchers that lead to existing pages."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from citybridge import catalogs, editions
from citybridge.book import build_html

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
PAGES = catalogs.HAND_WRITTEN_PAGES

#: Common English function words: their share in a page's prose says whether it is English.
#: (Not "a", "no", "en": Spanish words too.)
FUNCTION_WORDS = {"the", "and", "of", "to", "in", "is", "are", "with", "for", "that", "on", "by", "from", "as",
                  "it", "its", "each", "every", "which", "this", "be", "or", "not", "an", "at", "when",
                  "where", "what", "how", "than", "into", "their", "there", "one", "only"}


class _Visible(HTMLParser):
    """Text a reader sees in a page's article, less code (identifiers stay as they are)."""

    SKIP = {"code", "pre", "script", "style", "kbd", "samp"}

    def __init__(self):
        super().__init__()
        self.depth_article = 0
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "article" and "bd-article" in cls:
            self.depth_article += 1
        elif self.depth_article and (tag in self.SKIP or "cb-untranslated" in cls):
            self.skip += 1
        if self.depth_article and tag in ("p", "td", "th", "li", "h1", "h2", "h3", "dt", "dd"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag == "article" and self.depth_article:
            self.depth_article -= 1
        elif self.skip and (tag in self.SKIP or tag == "div"):
            self.skip -= 1

    def handle_data(self, data):
        if self.depth_article and not self.skip:
            self.parts.append(data)


def visible_text(page: Path) -> str:
    p = _Visible()
    p.feed(page.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", "".join(p.parts))


def english_share(text: str) -> float:
    """Share of English function words among the words (Latin words and Chinese characters)."""
    tokens = re.findall(r"[A-Za-zÀ-ÿ']+|[\u4e00-\u9fff]", text)
    if not tokens:
        return 0.0
    return sum(t.lower() in FUNCTION_WORDS for t in tokens) / len(tokens)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The hand-written pages (and one untranslated stand-in page) built in three editions."""
    book = catalogs.assemble_pages_book(ROOT / "book", tmp_path_factory.mktemp("editions"))
    index = build_html(book)
    seconds, _ = editions.build_editions(book, index.parent)
    return index.parent, seconds


def test_three_complete_editions_and_a_root_page(site):
    html, seconds = site
    assert set(seconds) == {"en", "es", "zh"}
    root = (html / "index.html").read_text(encoding="utf-8")
    for code in ("en", "es", "zh"):
        assert f'href="{code}/intro.html"' in root
        ed = html / code
        for p in PAGES + ("cities/index", "search", "genindex"):
            assert (ed / f"{p}.html").is_file(), f"{code}/{p}.html"
        assert (ed / "_static" / "citybridge.css").is_file() and (ed / "searchindex.js").is_file()
        assert "url=intro.html" in (ed / "index.html").read_text(encoding="utf-8")
    assert '<html lang="es-CL"' in (html / "es" / "methods.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN"' in (html / "zh" / "methods.html").read_text(encoding="utf-8")


def test_language_switcher_reaches_the_same_page_in_every_edition(site):
    html, _ = site
    checked = 0
    for code in ("en", "es", "zh"):
        for page in (html / code).rglob("*.html"):
            if "_static" in page.parts or page.name == "index.html":
                continue
            text = page.read_text(encoding="utf-8")
            nav = re.search(r'<nav class="cb-lang-switch".*?</nav>', text, re.S)
            assert nav, page
            links = re.findall(r'href="([^"]+)"', nav.group(0))
            assert len(links) == 2, page
            alternates = re.findall(r'<link rel="alternate" hreflang="[^"]+" href="([^"]+)">', text)
            assert len(alternates) == 3, page
            rel = page.relative_to(html / code)
            for href in links + alternates:
                target = (page.parent / href).resolve()
                assert target.is_file(), f"{page}: {href}"
                assert target.relative_to(html.resolve()).parts[1:] == rel.parts  # the same page
                checked += 1
    assert checked > 100


@pytest.mark.parametrize("page", PAGES)
def test_spanish_and_chinese_pages_read_in_their_language(site, page):
    html, _ = site
    en = english_share(visible_text(html / "en" / f"{page}.html"))
    assert en > 0.12, f"the test no longer recognises English ({en:.2f})"
    for code in ("es", "zh"):
        text = visible_text(html / code / f"{page}.html")
        share = english_share(text)
        assert share < 0.03, f"{code}/{page}.html: {share:.1%} English function words: {text[:300]}"
        assert "cb-untranslated" not in (html / code / f"{page}.html").read_text(encoding="utf-8")
    assert len(re.findall(r"[\u4e00-\u9fff]", visible_text(html / "zh" / f"{page}.html"))) > 100


def test_spanish_pages_write_numbers_the_chilean_way(site):
    html, _ = site
    grouped = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")
    seen = 0
    for page in PAGES:
        en = visible_text(html / "en" / f"{page}.html")
        es = visible_text(html / "es" / f"{page}.html")
        for n in set(grouped.findall(en)):
            seen += 1
            assert not re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d,])", es), f"es/{page}: {n} written in English"
            assert n.replace(",", ".") in es, f"es/{page}: {n} should read {n.replace(',', '.')}"
        assert not re.search(r"\d{1,3},\d{3},\d{3}", es), page
        # 16.7 km/h, 1.5 km (three decimals would be a Chilean thousand: 1.000 m)
        bad = re.findall(r"\b\d+\.\d{1,2} ?(?:%|km|kWh|L/|µg|kg|millones|veces|m\b)", es)
        assert not bad, f"es/{page}: decimal points {bad}"
    assert seen >= 20   # the pages do carry thousands (7,400,741; 12,134; 1,000 m...)
    assert "7.400.741" in visible_text(html / "es" / "data.html")


def test_untranslated_page_is_english_with_a_note_in_the_edition_language(site):
    html, _ = site
    es = (html / "es" / "cities" / "index.html").read_text(encoding="utf-8")
    zh = (html / "zh" / "cities" / "index.html").read_text(encoding="utf-8")
    assert '<article class="bd-article" lang="en">' in es
    assert "Esta página aún no está traducida" in es and "本页尚未翻译" in zh
    assert "This page stands for the pages" in es
    assert "cb-untranslated" not in (html / "en" / "cities" / "index.html").read_text(encoding="utf-8")


def test_navigation_and_footnotes_are_translated(site):
    html, _ = site
    es = (html / "es" / "intro.html").read_text(encoding="utf-8")
    zh = (html / "zh" / "intro.html").read_text(encoding="utf-8")
    for caption in ("Las ciudades", "Comparación", "Referencia"):
        assert f'<span class="caption-text">{caption}</span>' in es
    assert '<span class="caption-text">参考</span>' in zh
    # a footnote reference survives translation as a link, not as "[^launch]" text
    for text in (es, zh):
        assert "[^launch]" not in text and "[^visit]" not in text
        assert text.count('class="footnote-reference brackets"') == 2


def test_page_catalogs_hold_exactly_the_pages_messages(tmp_path):
    pots = catalogs.page_templates(ROOT / "book", tmp_path)
    assert {p.stem for p in pots} == set(PAGES)
    for pot in pots:
        want = {m.id for m in catalogs.read_catalog(pot) if m.id}
        for lang in catalogs.TARGET_LANGUAGES:
            po = ROOT / "book" / editions.PAGE_LOCALES / lang / "LC_MESSAGES" / pot.with_suffix(".po").name
            have = {m.id for m in catalogs.read_catalog(po) if m.id}
            assert want == have, (f"{po}: run catalogs.update_page_catalogs(Path('book')) and translate; "
                                  f"new {sorted(want - have)[:3]}, gone {sorted(have - want)[:3]}")
