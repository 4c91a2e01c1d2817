"""Languages: language choice, message catalogs, locale formatting, catalog completeness (unit)."""
from __future__ import annotations

import datetime as dt
import fnmatch
import gettext as pygettext
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from citybridge import catalogs, editions, i18n
from citybridge.errors import CitybridgeError

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


# ------------------------------------------------------------------ which language

@pytest.mark.parametrize("environ, want", [
    ({}, "en"),
    ({"LANG": "es_CL.UTF-8"}, "es"),
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "zh_CN.GB18030"}, "zh"),
    ({"LANG": "zh_TW.UTF-8"}, "en"),          # Traditional Chinese is not this edition
    ({"LANG": "fr_FR.UTF-8"}, "en"),          # a language the workbook lacks: English
    ({"LANG": "C"}, "en"),
    ({"LC_MESSAGES": "es_AR.UTF-8", "LANG": "zh_CN.UTF-8"}, "es"),     # LC_MESSAGES before LANG
    ({"LC_ALL": "C.UTF-8", "LC_MESSAGES": "es_CL", "LANG": "zh_CN"}, "en"),  # LC_ALL decides when set
    ({"LC_ALL": "zh_CN.UTF-8", "LANG": "es_CL.UTF-8"}, "zh"),
    ({"CITYBRIDGE_LANG": "es", "LC_ALL": "zh_CN.UTF-8"}, "es"),      # the workbook's own setting first
    ({"CITYBRIDGE_LANG": "zh-Hans", "LANG": "es_CL"}, "zh"),
    ({"CITYBRIDGE_LANG": "", "LANG": "es_CL"}, "es"),                 # empty means unset
])
def test_language_from_the_environment(environ, want):
    assert i18n.resolve_language(environ=environ) == want


def test_explicit_language_wins_and_unknown_is_a_clear_error():
    env = {"CITYBRIDGE_LANG": "zh", "LANG": "es_CL.UTF-8"}
    assert i18n.resolve_language("en", environ=env) == "en"
    assert i18n.resolve_language("es-CL", environ=env) == "es"
    with pytest.raises(CitybridgeError, match=r"'fr' is not a language of the workbook; use one of en, es, zh"):
        i18n.resolve_language("fr", environ=env)
    with pytest.raises(CitybridgeError, match="CITYBRIDGE_LANG: 'klingon'"):
        i18n.resolve_language(environ={"CITYBRIDGE_LANG": "klingon"})


def test_use_language_sets_the_default_of_every_function(monkeypatch):
    monkeypatch.setenv("CITYBRIDGE_LANG", "en")
    assert i18n.number(7400741) == "7,400,741"
    with i18n.use_language("es") as code:
        assert code == "es" and i18n.current_language() == "es"
        assert i18n.number(7400741) == "7.400.741"
        assert i18n.gettext("Read the book") == "Leer el libro"
        assert i18n.number(7400741, lang="zh") == "7,400,741"  # an argument still wins
    assert i18n.current_language() == "en"


# ------------------------------------------------------------------ formatting (hand-written expectations)

def test_numbers_in_chile_china_and_english():
    assert i18n.number(7400741, lang="es") == "7.400.741"
    assert i18n.number(7400741, lang="zh") == "7,400,741"
    assert i18n.number(7400741, lang="en") == "7,400,741"
    assert i18n.number(1233258, lang="es") == "1.233.258"   # weekday bus-km, Santiago
    assert i18n.number(68479, lang="es") == "68.479"
    assert i18n.number(425, lang="es") == "425"
    assert i18n.decimal(20.7, 1, lang="es") == "20,7"
    assert i18n.decimal(20.7, 1, lang="zh") == "20.7"
    assert i18n.decimal(16.7, 1, lang="es") == "16,7"
    assert i18n.decimal(1233258.44, 1, lang="es") == "1.233.258,4"
    assert i18n.decimal(-3.25, 1, lang="es") == "-3,2"       # half to even, as Python
    assert i18n.decimal(0.343, 3, lang="es") == "0,343"
    assert i18n.decimal(float("nan"), 1, lang="es") == "–"


def test_percentages_and_dates():
    assert i18n.percent(82.1, lang="es") == "82,1%"
    assert i18n.percent(96.5, lang="zh") == "96.5%"
    assert i18n.percent(57.2, lang="en") == "57.2%"
    assert i18n.percent(11.8, 0, lang="es") == "12%"
    assert i18n.date("20260706", lang="es") == "6 de julio de 2026"
    assert i18n.date("2026-07-06", lang="zh") == "2026年7月6日"
    assert i18n.date(dt.date(2026, 7, 6), lang="en") == "July 6, 2026"
    assert i18n.date(dt.date(2026, 7, 6), style="short", lang="es") == "06-07-26"
    with pytest.raises(CitybridgeError, match="YYYYMMDD"):
        i18n.date("6 July", lang="es")


@pytest.mark.parametrize("x", [2.675, 0.125, 16.65, 16.75, 82.05, 1233258.45, 5873.5, 0.5, 1.5, 2.5, -0.05, 1e-7])
@pytest.mark.parametrize("digits", [0, 1, 2])
def test_rounding_is_that_of_python_format(x, digits):
    # a chapter switching from f"{x:,.1f}" to i18n.decimal changes separators, never a digit
    assert i18n.decimal(x, digits, lang="en") == f"{x:,.{digits}f}"
    assert i18n.decimal(x, digits, lang="es") == f"{x:,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")


# ------------------------------------------------------------------ package messages

def test_package_messages_are_translated():
    assert i18n.gettext("Read the book", lang="es") == "Leer el libro"
    assert i18n.gettext("Read the book", lang="zh") == "阅读本书"
    assert i18n.gettext("Read the book", lang="en") == "Read the book"
    assert i18n.gettext("a message nobody wrote", lang="es") == "a message nobody wrote"
    assert i18n.ngettext("{n} stop", "{n} stops", 2, lang="en") == "{n} stops"


@pytest.mark.parametrize("lang", catalogs.TARGET_LANGUAGES)
def test_package_catalog_is_complete_current_and_compiled(lang, tmp_path):
    po = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "citybridge.po"
    assert catalogs.missing_translations(po) == []
    # every message marked in the source is in the catalog (run catalogs.update_package_catalogs())
    marked = {m.id for m in catalogs.extract_package_messages() if m.id}
    have = {m.id for m in catalogs.read_catalog(po) if m.id}
    assert marked and marked <= have, f"not in {po.name}: {sorted(marked - have)}"
    # the shipped .mo says what the .po says
    with open(po.with_suffix(".mo"), "rb") as f:
        mo = pygettext.GNUTranslations(f)
    for m in catalogs.read_catalog(po):
        if isinstance(m.id, tuple):  # plural forms: the form each count selects
            for n in (1, 2, 5):
                assert mo.ngettext(m.id[0], m.id[1], n) == m.string[mo.plural(n)], m.id
        elif m.id:
            assert mo.gettext(m.id) == m.string, m.id


def test_catalogs_ship_with_the_package():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = cfg["tool"]["setuptools"]["package-data"]["citybridge"]
    files = [p.relative_to(ROOT / "src" / "citybridge").as_posix()
             for p in (ROOT / "src" / "citybridge" / "locales").rglob("*") if p.is_file()]
    assert {Path(f).suffix for f in files} == {".po", ".mo"} and len(files) == 2 * len(catalogs.TARGET_LANGUAGES)
    for f in files:
        assert any(fnmatch.fnmatch(f, pat) for pat in patterns), f"{f} is not package data"
    deps = cfg["project"]["dependencies"]
    assert any(d.startswith("babel") for d in deps) and any(d.startswith("sphinx-intl") for d in deps)


# ------------------------------------------------------------------ page catalogs

@pytest.mark.parametrize("lang", catalogs.TARGET_LANGUAGES)
@pytest.mark.parametrize("page", catalogs.HAND_WRITTEN_PAGES)
def test_every_hand_written_page_is_fully_translated(lang, page):
    po = BOOK / editions.PAGE_LOCALES / lang / "LC_MESSAGES" / f"{page}.po"
    assert po.is_file(), f"{po} is missing: run catalogs.update_page_catalogs(book) and translate it"
    missing = catalogs.missing_translations(po)
    assert missing == [], f"{po}: {len(missing)} empty or fuzzy, first {missing[:3]}"


def _translations(lang: str) -> list[tuple[str, str]]:
    """Every translated entry of the pages', the chapters' and the package's catalogs (plural
    entries give each form)."""
    out = []
    pages = BOOK / editions.PAGE_LOCALES / lang / "LC_MESSAGES"
    for po in [*sorted(pages.glob("*.po")), *sorted((pages / "notebooks").glob("*.po")),
               i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "citybridge.po"]:
        for m in catalogs.read_catalog(po):
            strings = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
            msgid = m.id[0] if isinstance(m.id, (tuple, list)) else m.id
            out += [(msgid, s) for s in strings if msgid and s and s != msgid]
    return out


def test_translations_use_the_glossary_terms():
    es, zh = _translations("es"), _translations("zh")
    assert es and zh
    for _, s in es:
        assert "SDG" not in s, s            # ODS 11.2.1 in Spanish
        assert not re.search(r"\bmicros?\b", s.replace('"micro"', "")), s  # "micro" only in quotes
        assert "PM2.5" not in s, s          # MP2,5 in Chile
    for _, s in zh:
        assert "SDG" not in s, s            # 可持续发展目标 11.2.1
    es_text = " ".join(s for _, s in es).lower()
    zh_text = " ".join(s for _, s in zh)
    for term in ("ods 11.2.1", "comuna", "estación de combinación", "punta mañana", "intervalo", "vehículos-km",
                 "apelotonamiento", "criticidad", "punta tarde", "flota en punta", "horario de servicio",
                 "factor de emisión de la red eléctrica", "recorrido", "advertencia"):
        assert term in es_text, term
    for term in ("可持续发展目标 11.2.1", "发车间隔", "早高峰", "车公里", "串车", "关键性", "换乘站", "晚高峰",
                 "高峰配车数", "运营时间", "电网排放因子", "线路", "站点"):
        assert term in zh_text, term


def test_glossary_rows_have_three_languages_and_a_meaning():
    rows = [line.strip().strip("|").split("|") for line in (BOOK / "glossary.md").read_text().splitlines()
            if line.startswith("|") and not line.startswith("|---")]
    header, body = rows[0], rows[1:]
    assert [c.strip() for c in header] == ["English", "Español", "中文", "meaning in this book"]
    assert len(body) >= 65  # 24 core terms + the book's terms added with the editions
    for r in body:
        assert len(r) == 4 and all(c.strip() for c in r), r
        assert re.search(r"[\u4e00-\u9fff]", r[2]), r   # a Chinese term
    terms = {r[0].strip() for r in body}
    for t in ("SDG 11.2.1", "vehicle-km", "span of service", "scenario", "sensitivity", "AM peak", "PM peak",
              "midday", "night", "KPI", "NOx", "PM2.5", "bunching", "criticality", "frequent network", "data status",
              "transfer station", "operations as observed", "headway", "catchment", "service-km", "peak vehicles",
              "electric share", "grid emission factor", "Euro standard", "punctuality", "disruption", "bus bridge",
              "comuna / district", "finding", "fatal problem"):
        assert t in terms, t


# ------------------------------------------------------------------ editions (HTML pieces)

def test_switcher_links_to_the_same_page_in_the_other_editions():
    sw = editions.switcher_html("cities/hangzhou/01_network", "es")
    assert 'href="../../../en/cities/hangzhou/01_network.html"' in sw
    assert 'href="../../../zh/cities/hangzhou/01_network.html"' in sw
    assert 'aria-current="page">Español</span>' in sw and 'aria-label="Idioma"' in sw
    assert 'href="../en/intro.html"' in editions.switcher_html("intro", "zh")
    assert 'aria-label="语言"' in editions.switcher_html("intro", "zh")


_PAGE = ('<!DOCTYPE html><html lang="es" data-theme="light"><head><title>x</title></head><body>'
         '<nav><p class="caption" role="heading"><span class="caption-text">The cities</span></p></nav>'
         '<input placeholder="Search the book…">'
         '<div class="header-article-items__end"><div class="header-article-item">x</div></div>'
         '<article class="bd-article"><h1>01 · The network at a glance</h1></article></body></html>')


def test_decorate_page_adds_switcher_note_and_translations_once():
    out = editions.decorate_page(_PAGE, "cities/hangzhou/01_network", "es", translated=False,
                                 captions={"The cities": "Las ciudades"})
    assert '<html lang="es-CL"' in out
    assert out.count("cb-lang-switch") == 1 and out.index("cb-lang-switch") > out.index("header-article-items__end")
    assert '<link rel="alternate" hreflang="zh-CN" href="../../../zh/cities/hangzhou/01_network.html">' in out
    assert '<span class="caption-text">Las ciudades</span>' in out
    assert 'placeholder="Buscar en el libro…"' in out
    assert '<article class="bd-article" lang="en">' in out
    assert "Esta página aún no está traducida" in out and 'class="admonition note cb-untranslated" lang="es-CL"' in out
    assert editions.decorate_page(out, "cities/hangzhou/01_network", "es", translated=False) == out
    same = editions.decorate_page(_PAGE, "intro", "en", translated=True)
    assert "cb-untranslated" not in same and "Search the book…" in same and 'lang="en"' in same


def test_root_page_offers_the_three_editions():
    page = editions.root_index_html()
    for code, read in (("en", "Read the book"), ("es", "Leer el libro"), ("zh", "阅读本书")):
        assert f'href="{code}/intro.html"' in page and read in page
    assert "<script" not in page and "http" not in page.replace('http-equiv', '')


def test_config_messages_match_the_book_config():
    cfg = yaml.safe_load((BOOK / "_config.yml").read_text(encoding="utf-8"))
    opts = cfg["sphinx"]["config"]["html_theme_options"]
    assert opts["search_bar_text"] in editions.CONFIG_MESSAGES
    assert cfg["sphinx"]["config"]["locale_dirs"] == [editions.PAGE_LOCALES + "/"]


def test_chinese_uses_system_fonts_only():
    css = (BOOK / "_static" / "citybridge.css").read_text(encoding="utf-8")
    block = css[css.index("html:lang(zh)"):]
    for font in ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC"):
        assert font in block
    assert "@font-face" not in css and "url(" not in css


def test_half_built_editions_of_dead_builds_are_removed(tmp_path):
    import os

    dead = tmp_path / ".edition-999999999-es-abc"      # no such process
    mine = tmp_path / f".edition-{os.getpid()}-zh-abc"  # a build still running
    for d in (dead, mine):
        (d / "cities").mkdir(parents=True)
        (d / "intro.html").write_text("<html></html>")
    (tmp_path / "html").mkdir()
    editions.remove_stale_editions(tmp_path)
    assert not dead.exists() and mine.is_dir() and (tmp_path / "html").is_dir()
