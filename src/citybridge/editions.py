"""The book in three editions: English, Spanish (Chile) and Simplified Chinese.

From the one assembled book source (``book/`` as ``citybridge build`` leaves
it: ``conf.py``, ``_toc.yml``, pages and executed notebooks), each edition is
built by Sphinx with its own ``language`` into ``_build/html/<lang>/``, a
complete offline site; ``_build/html/index.html`` offers the three. The
notebooks are executed once for all editions; only Sphinx runs per language.

Pages are translated with Sphinx's own i18n: the ``gettext`` builder writes a
template per page, sphinx-intl keeps one catalog per page and language in
``book/locales/<lang>/LC_MESSAGES/<page>.po`` (see
:mod:`citybridge.catalogs`), and Sphinx applies it while reading. The
executed notebook pages are read with their narrative (markdown cells)
translated from one catalog per chapter,
``book/locales/<lang>/LC_MESSAGES/notebooks/<chapter>.po``
(:mod:`citybridge.notebook_i18n`); their computed outputs stay English,
which a note in the edition's language says, and each output is marked
``lang="en"``. The generated city and report pages carry their own text
in every language (:mod:`citybridge.book_pages`), read per edition. A page
with neither is shown in English in the Spanish and Chinese editions, with a
note in the edition's language saying so, and its article is marked
``lang="en"``.

After Sphinx, every page of every edition gets a language switcher (plain
links to the same page in the other editions, no script) and
``<link rel="alternate" hreflang>`` entries. Chinese text is drawn with the
reader's own CJK fonts: ``book/_static/citybridge.css`` gives a font-family
fallback list for ``:lang(zh)``, and no web font is loaded.
"""
from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .book_pages import has_language
from .errors import CitybridgeError
from .pipeline import sphinx_result, start_sphinx
from .i18n import LANGUAGES, SOURCE_LANGUAGE, N_, gettext

#: The editions built, English (the source) first.
EDITIONS = tuple(LANGUAGES)

#: Folder of the pages' catalogs, inside the book source (Sphinx ``locale_dirs``).
PAGE_LOCALES = "locales"

#: Strings of ``book/_config.yml`` that Sphinx does not translate (theme
#: options); the editions replace them in the built pages with their
#: translation from the package catalog. A unit test keeps them equal to
#: the configuration.
CONFIG_MESSAGES = (
    N_("Search the book…"),
    # the toggles myst-nb puts on hidden code cells (it has no Spanish or Chinese of its own)
    N_("Show code cell source"), N_("Hide code cell source"), N_("Show code cell outputs"),
    N_("Hide code cell outputs"), N_("Show code cell content"), N_("Hide code cell content"),
)

#: Pages of Sphinx itself (no source document) that carry no switcher note.
_SPHINX_PAGES = {"genindex", "search", "py-modindex"}

_SWITCH_MARK = "<!-- citybridge:language-switcher -->"
_NOTE_MARK = "<!-- citybridge:untranslated -->"


def page_domain(docname: str) -> str:
    """The catalog (gettext domain) that holds a page's messages.

    Sphinx's default (``gettext_compact``): a top-level page has its own
    catalog (``methods`` → ``methods.po``); pages in a folder share the
    folder's (``cities/santiago/03_access`` → ``cities.po``), so the same
    narrative in every city's chapter is translated once.
    """
    return docname.split("/", 1)[0]


def translated_domains(book_src: Path, lang: str) -> set[str]:
    """The page catalogs that exist for ``lang`` (all of them for English)."""
    d = Path(book_src) / PAGE_LOCALES / lang / "LC_MESSAGES"
    return {p.stem for p in d.glob("*.po")} if d.is_dir() else set()


def root_page(book_src: Path) -> str:
    """The book's first page (``root`` of ``_toc.yml``; ``intro`` when there is none)."""
    import yaml

    try:
        root = yaml.safe_load((Path(book_src) / "_toc.yml").read_text(encoding="utf-8")).get("root")
    except (OSError, AttributeError, yaml.YAMLError):
        root = None
    return str(root or "intro").removesuffix(".md")


def page_messages(book_src: Path, lang: str, domain: str) -> dict[str, str]:
    """The translated messages of one page catalog (empty and fuzzy entries left out)."""
    from .catalogs import translated_messages

    if lang == SOURCE_LANGUAGE:
        return {}
    return translated_messages(Path(book_src) / PAGE_LOCALES / lang / "LC_MESSAGES" / f"{domain}.po")


def translate_captions(text: str, messages: dict[str, str]) -> str:
    """The navigation captions of a built page (``The cities``, ``Reference``) in the edition's language.

    They are messages of the root page's catalog, but the table of contents is
    added to the pages after Sphinx has translated them, so they are replaced
    in the built HTML.
    """
    def sub(m: re.Match) -> str:
        src = html.unescape(m.group(2))
        return m.group(1) + html.escape(messages.get(src, src), quote=False) + m.group(3)

    return re.sub(r'(<span class="caption-text">)(.*?)(</span>)', sub, text)


def edition_pages(edition_dir: Path) -> list[str]:
    """The pages of a built edition as docnames (``cities/hangzhou/01_network``), sorted."""
    out = []
    for p in Path(edition_dir).rglob("*.html"):
        rel = p.relative_to(edition_dir)
        if rel.parts[0].startswith("_"):
            continue
        out.append(rel.with_suffix("").as_posix())
    return sorted(out)


def switcher_html(docname: str, lang: str, *, languages: tuple[str, ...] = EDITIONS) -> str:
    """The language switcher of one page: links to the same page in the other editions.

    The current edition is named, not linked (``aria-current``); each name is
    written in its own language and marked with its ``lang``.
    """
    up = "../" * (docname.count("/") + 1)
    items = []
    for code in languages:
        L = LANGUAGES[code]
        if code == lang:
            items.append(f'<span class="cb-lang-current" lang="{L.html}" aria-current="page">'
                         f'{html.escape(L.name)}</span>')
        else:
            items.append(f'<a class="cb-lang-link" href="{up}{code}/{docname}.html" hreflang="{L.html}" '
                         f'lang="{L.html}">{html.escape(L.name)}</a>')
    label = html.escape(gettext("Language", lang=lang), quote=True)
    return (f'{_SWITCH_MARK}<div class="header-article-item"><nav class="cb-lang-switch" '
            f'aria-label="{label}">' + '<span class="cb-lang-sep"> · </span>'.join(items) + "</nav></div>")


def untranslated_note_html(lang: str) -> str:
    """The note on a page shown in English in another edition, in that edition's language."""
    L = LANGUAGES[lang]
    title = html.escape(gettext("Not yet translated", lang=lang))
    text = html.escape(gettext("This page has not been translated yet: it is shown in English, as "
                               "published. The glossary gives the terms it uses in every language.",
                               lang=lang))
    return (f'{_NOTE_MARK}<div class="admonition note cb-untranslated" lang="{L.html}">'
            f'<p class="admonition-title">{title}</p><p>{text}</p></div>')


def narrative_translated(book_src: Path, docname: str, lang: str) -> bool:
    """Whether a page is an executed notebook whose chapter has a narrative catalog in ``lang``."""
    from .notebook_i18n import catalog_path

    src = Path(book_src) / f"{docname}.ipynb"
    return src.is_file() and catalog_path(lang, src.stem, locale_root=Path(book_src) / PAGE_LOCALES).is_file()


def decorate_page(text: str, docname: str, lang: str, *, translated: bool, narrative: bool = False,
                  languages: tuple[str, ...] = EDITIONS, captions: dict[str, str] | None = None) -> str:
    """One built page with its switcher, ``hreflang`` links, translated theme
    strings and captions (:func:`translate_captions` with ``captions``) and
    (when ``translated`` is False) the untranslated note — except on an executed
    notebook whose ``narrative`` is translated: its outputs were drawn in the
    edition's language when it ran (:mod:`citybridge.texts`), so it is
    translated throughout.

    Idempotent: a page already decorated is returned unchanged.
    """
    if _SWITCH_MARK in text:
        return text
    # Sphinx writes the language code (es, zh); the page says which variety
    text = re.sub(r'(<html[^>]*\blang=")[^"]*(")', lambda m: m.group(1) + LANGUAGES[lang].html + m.group(2),
                  text, count=1)
    up = "../" * (docname.count("/") + 1)
    alt = "".join(f'<link rel="alternate" hreflang="{LANGUAGES[c].html}" href="{up}{c}/{docname}.html">'
                  for c in languages)
    text = text.replace("</head>", alt + "</head>", 1)
    sw = switcher_html(docname, lang, languages=languages)
    anchor = '<div class="header-article-items__end">'
    if anchor in text:
        text = text.replace(anchor, anchor + sw, 1)
    else:  # a page without the theme's article header: put it first in the body
        text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + sw, text, count=1)
    if captions:
        text = translate_captions(text, captions)
    if lang != SOURCE_LANGUAGE:
        for msg in CONFIG_MESSAGES:
            text = text.replace(html.escape(msg, quote=False), html.escape(gettext(msg, lang=lang), quote=False))
            text = text.replace(html.escape(msg, quote=True), html.escape(gettext(msg, lang=lang), quote=True))
    art = '<article class="bd-article">'
    # an executed notebook whose narrative is translated is translated throughout: its outputs
    # are drawn in the edition's language at execution (citybridge.texts)
    if not translated and not narrative and docname.split("/")[-1] not in _SPHINX_PAGES and art in text:
        text = text.replace(art, '<article class="bd-article" lang="en">' + untranslated_note_html(lang), 1)
    return text


def decorate_edition(edition_dir: Path, lang: str, *, translated: set[str],
                     languages: tuple[str, ...] = EDITIONS, captions: dict[str, str] | None = None,
                     book_src: Path | None = None) -> int:
    """Decorate every page of a built edition (see :func:`decorate_page`).

    ``translated`` holds the page catalogs (domains) that exist for ``lang``;
    ``captions`` the root page's translated messages; ``book_src`` the book
    source, where notebook pages with a narrative catalog are found
    (:func:`narrative_translated`). Returns the number of pages changed.
    """
    changed = 0
    for docname in edition_pages(edition_dir):
        p = Path(edition_dir) / f"{docname}.html"
        text = p.read_text(encoding="utf-8")
        if "http-equiv=\"Refresh\"" in text[:400]:  # the root redirect page
            continue
        ok = lang == SOURCE_LANGUAGE or page_domain(docname) in translated or (
            book_src is not None and has_language(Path(book_src) / f"{docname}.md", lang))
        narrative = not ok and book_src is not None and narrative_translated(book_src, docname, lang)
        new = decorate_page(text, docname, lang, translated=ok, narrative=narrative, languages=languages,
                            captions=captions)
        if new != text:
            p.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def root_index_html(*, languages: tuple[str, ...] = EDITIONS, title: str = "citybridge: Hangzhou × Santiago",
                    first_page: str = "intro") -> str:
    """The page at the root of the built book that offers the editions (no script, no web font)."""
    rows = []
    for code in languages:
        L = LANGUAGES[code]
        blurb = html.escape(gettext("The workbook of the Hangzhou–Santiago exchange on sustainable, "
                                    "low-carbon, digitally managed public transport.", lang=code))
        read = html.escape(gettext("Read the book", lang=code))
        rows.append(f'<li lang="{L.html}"><a href="{code}/{first_page}.html" hreflang="{L.html}">'
                    f'<span class="name">{html.escape(L.name)}</span> — {read}</a><p>{blurb}</p></li>')
    t = html.escape(title)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{t}</title>\n"
            "<style>body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\","
            "\"PingFang SC\",\"Hiragino Sans GB\",\"Microsoft YaHei\",\"Noto Sans CJK SC\","
            "\"Source Han Sans SC\",\"WenQuanYi Micro Hei\",sans-serif;max-width:40em;margin:3em auto;"
            "padding:0 1em;line-height:1.5;color:#222}ul{list-style:none;padding:0}li{margin:1.5em 0}"
            "a{color:#2171b5;font-size:1.25em;text-decoration:none}a:hover{text-decoration:underline}"
            ".name{font-weight:600}p{margin:.3em 0;color:#444}</style>\n"
            f"</head>\n<body>\n<h1>{t}</h1>\n<ul>\n" + "\n".join(rows) + "\n</ul>\n</body>\n</html>\n")


def _finish_sphinx(proc: subprocess.Popen, book_src: Path, out: Path, lang: str) -> None:
    code, tail = sphinx_result(proc)
    if code != 0 or not (out / f"{root_page(book_src)}.html").is_file():
        raise CitybridgeError(f"the {LANGUAGES[lang].name} edition of the book did not build "
                              f"(sphinx exit {code}):\n{tail}")
    from .site import strip_asset_versions

    strip_asset_versions(out)


def _swap_in(tmp: Path, out_html: Path, lang: str) -> Path:
    final = out_html / lang
    old = tmp.with_name(tmp.name + "-old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def _finish_edition(tmp: Path, book_src: Path, lang: str, languages: tuple[str, ...] = EDITIONS) -> None:
    """Shared Leaflet, the edition's own index page, switcher, notes and captions."""
    from .site import share_map_assets

    share_map_assets(tmp)
    # each edition's own index.html leads to its first page (the root one offers the editions)
    (tmp / "index.html").write_text(f'<meta http-equiv="Refresh" content="0; url={root_page(book_src)}.html" />\n',
                                    encoding="utf-8")
    decorate_edition(tmp, lang, translated=translated_domains(book_src, lang), languages=languages,
                     captions=page_messages(book_src, lang, page_domain(root_page(book_src))), book_src=book_src)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o777 & ~mask)  # mkdtemp makes it 0700: the published book follows the umask


def build_edition(book_src: Path, out_html: Path, lang: str, *, strict: bool = False,
                  english_site: Path | None = None) -> Path:
    """Build one edition into ``out_html/<lang>/`` (swapped in only when complete).

    Parameters
    ----------
    book_src
        The assembled book source (with ``conf.py``).
    out_html
        The folder of the built book (``book/_build/html``).
    lang
        ``en``, ``es`` or ``zh``.
    english_site
        For ``en``: an English site already built from the same source, copied
        instead of built again.

    Returns
    -------
    Path
        The edition's folder.
    """
    return build_editions(book_src, out_html, languages=(lang,), strict=strict, english_site=english_site,
                          root_index=False)[1][lang]


def build_editions(book_src: Path, out_html: Path, *, languages: tuple[str, ...] = EDITIONS,
                   strict: bool = False, workers: int = 2, english_site: Path | None = None,
                   root_index: bool = True) -> tuple[dict[str, float], dict[str, Path]]:
    """Build every edition of the book and the root page that offers them.

    ``out_html/<lang>/`` is a complete offline site per language and
    ``out_html/index.html`` the choice of language. When ``out_html`` already
    holds the English site built from ``book_src`` (``citybridge build`` makes
    it first), the English edition is a copy of it rather than a second build.
    Up to ``workers`` Sphinx processes build editions side by side (each has
    its own environment in ``_build/.doctrees-<lang>``).

    Returns
    -------
    tuple of dict
        Seconds from the start until each edition was ready, and its folder,
        by language code.
    """
    book_src, out_html = Path(book_src), Path(out_html)
    unknown = [c for c in languages if c not in LANGUAGES]
    if unknown:
        raise CitybridgeError(f"editions {unknown}: the book has editions {', '.join(LANGUAGES)} only")
    out_html.mkdir(parents=True, exist_ok=True)
    first = root_page(book_src)
    if english_site is None and (out_html / f"{first}.html").is_file() and (out_html / ".buildinfo").is_file():
        english_site = out_html
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    folders: dict[str, Path] = {}
    # half-built editions live beside the book, never inside it (a killed build leaves nothing there)
    work = out_html.parent
    remove_stale_editions(work)
    tmps = {lang: Path(tempfile.mkdtemp(prefix=f".edition-{os.getpid()}-{lang}-", dir=work)) for lang in languages}
    running: list[tuple[str, subprocess.Popen]] = []
    try:
        todo = []
        for lang in languages:
            if lang == SOURCE_LANGUAGE and english_site is not None:
                skip = set(EDITIONS)
                shutil.copytree(english_site, tmps[lang], dirs_exist_ok=True,
                                ignore=lambda d, names: [n for n in names if Path(d) == Path(english_site)
                                                         and n in skip])
                _finish_edition(tmps[lang], book_src, lang, languages)
                folders[lang] = _swap_in(tmps[lang], out_html, lang)
                seconds[lang] = time.perf_counter() - t0
            else:
                todo.append(lang)
        while todo or running:
            while todo and len(running) < max(1, workers):
                lang = todo.pop(0)
                running.append((lang, start_sphinx(book_src, tmps[lang], book_src / "_build" / f".doctrees-{lang}",
                                                   strict=strict, language=LANGUAGES[lang].sphinx)))
            lang, proc = running.pop(0)
            _finish_sphinx(proc, book_src, tmps[lang], lang)
            _finish_edition(tmps[lang], book_src, lang, languages)
            folders[lang] = _swap_in(tmps[lang], out_html, lang)
            seconds[lang] = time.perf_counter() - t0
    finally:
        for _, proc in running:  # an edition failed or the build was interrupted
            proc.kill()
            proc.wait()
        for tmp in tmps.values():
            shutil.rmtree(tmp, ignore_errors=True)
    if root_index:
        for lang in EDITIONS:  # an edition left from an earlier build with more languages is stale
            if lang not in languages and (out_html / lang / ".buildinfo").is_file():
                shutil.rmtree(out_html / lang, ignore_errors=True)
        tmp_index = work / f".edition-{os.getpid()}-index.html"
        tmp_index.write_text(root_index_html(languages=languages, first_page=first), encoding="utf-8")
        os.replace(tmp_index, out_html / "index.html")
    return seconds, folders


def remove_stale_editions(build_root: Path) -> None:
    """Remove half-built editions (``.edition-<pid>-*``) left in ``build_root`` by builds
    that are no longer running (:func:`citybridge.pipeline.is_leftover`)."""
    from .pipeline import is_leftover

    for p in Path(build_root).glob(".edition-*"):
        if is_leftover(p):  # its build's process id is dead
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


__all__ = ["EDITIONS", "PAGE_LOCALES", "CONFIG_MESSAGES", "page_domain", "translated_domains", "root_page",
           "page_messages", "translate_captions", "edition_pages",
           "switcher_html", "untranslated_note_html", "narrative_translated", "decorate_page",
           "decorate_edition", "root_index_html",
           "build_edition", "build_editions", "remove_stale_editions"]
