"""Keeping the translation catalogs in step with the sources (maintainers' tools).

Three kinds of gettext catalog, all plain ``.po`` text that translators edit:

* **the package's messages** — every string marked with
  :func:`citybridge.i18n.gettext` (or ``_``, ``N_``) in ``src/citybridge`` —
  in ``src/citybridge/locales/<lang>/LC_MESSAGES/citybridge.po``. Babel
  extracts them (:func:`extract_package_messages`), merges new and changed
  ones into each language's catalog, marking changed ones fuzzy
  (:func:`update_package_catalogs`), and compiles the ``.mo`` that ships
  with the package (:func:`compile_catalog`).
* **the book's hand-written pages** — one catalog per page in
  ``book/locales/<lang>/LC_MESSAGES/<page>.po``. Sphinx's ``gettext`` builder
  writes the templates with the book's own configuration
  (:func:`page_templates`), and sphinx-intl merges them into each
  language's catalogs (:func:`update_page_catalogs`); Sphinx compiles them
  while it builds an edition.
* **the notebooks' narrative** — one catalog per chapter, every markdown
  cell one message, in ``book/locales/<lang>/LC_MESSAGES/notebooks/<chapter>.po``;
  kept by :func:`citybridge.notebook_i18n.update_notebook_catalogs` and
  used by the editions and ``make lab lang=...`` (see :mod:`citybridge.notebook_i18n`).

To add a language: add it to :data:`citybridge.i18n.LANGUAGES`, run the three
update functions with it, translate every empty or fuzzy entry
(:func:`missing_translations` lists them), and compile.
"""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import CitybridgeError
from .i18n import DOMAIN, LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE

#: The book's hand-written pages (their catalogs are kept complete).
HAND_WRITTEN_PAGES = ("intro", "methods", "data", "glossary", "workshop", "trainers")

#: The languages translated from English.
TARGET_LANGUAGES = tuple(c for c in LANGUAGES if c != SOURCE_LANGUAGE)

PACKAGE_DIR = Path(__file__).parent


def read_catalog(po: Path, *, lang: str | None = None):
    """A ``.po`` file as a :class:`babel.messages.catalog.Catalog`.

    Raises
    ------
    CitybridgeError
        When the file cannot be read as a catalog (the message names it).
    """
    from babel.messages.pofile import read_po

    try:
        with open(po, "rb") as f:
            return read_po(f, locale=LANGUAGES[lang].babel if lang else None, abort_invalid=True)
    except (OSError, ValueError, Exception) as e:  # babel raises PoFileError (a ValueError subclass) or others
        raise CitybridgeError(f"{po}: not a readable gettext catalog ({e}); fix the file or restore it from git") \
            from None


def missing_translations(po: Path) -> list[str]:
    """The messages of a catalog that lack a usable translation: empty or fuzzy,
    or a plural message with any of the language's plural forms empty.

    (An untranslated message would show the English text in another
    edition; a fuzzy one was marked by a merge because its English changed;
    Spanish has three plural forms, the third for most counts.)
    """
    cat = read_catalog(po)
    out = []
    for m in cat:
        if not m.id:
            continue
        s = m.string
        if isinstance(m.id, (tuple, list)):
            forms = tuple(s) if isinstance(s, (tuple, list)) else (s,)
            empty = len(forms) < cat.num_plurals or not all(forms[:cat.num_plurals])
        else:
            empty = not s
        if empty or m.fuzzy:
            out.append(m.id if isinstance(m.id, str) else m.id[0])
    return out


def translated_messages(po: Path) -> dict[str, str]:
    """The usable translations of a catalog, English → translation (empty and fuzzy entries left
    out); ``{}`` when the file does not exist."""
    if not Path(po).is_file():
        return {}
    return {m.id: m.string for m in read_catalog(po) if m.id and isinstance(m.id, str) and m.string
            and not m.fuzzy}


def write_catalog(po: Path, cat) -> Path:
    """Write a catalog as the project keeps them: entries in their order, no line numbers,
    no wrapping, obsolete entries dropped. A file that would change only in its
    ``POT-Creation-Date`` is left as it is (no churn in version control). Returns ``po``."""
    import io
    import re

    from babel.messages.pofile import write_po

    buf = io.BytesIO()
    write_po(buf, cat, omit_header=False, sort_output=False, ignore_obsolete=True, include_lineno=False, width=0)
    po = Path(po)
    undated = re.compile(rb'^"POT-Creation-Date: [^"]*"\n', re.M)
    if not (po.is_file() and undated.sub(b"", po.read_bytes()) == undated.sub(b"", buf.getvalue())):
        po.write_bytes(buf.getvalue())
    return po


#: Names under which the package and the notebooks mark messages: Babel's
#: defaults (``_``, ``gettext``, ``ngettext``, ``N_``…) and the texts shown at
#: drawing time (:class:`citybridge.texts.Text`, its short name ``T``, and ``tr``).
KEYWORDS = ("T", "Text", "tr")


def extract_package_messages(package_dir: Path = PACKAGE_DIR, notebooks_dir: Path | None = None):
    """The template catalog of the package's messages and of the notebooks' code
    cells (Babel's Python extractor, keywords :data:`KEYWORDS` and Babel's own).

    ``notebooks_dir`` defaults to the project's ``notebooks/`` (when the package
    runs from a source checkout); the messages its code cells show (captions,
    sentences, chart labels) belong to the package catalog, because the
    package draws them.
    """
    from babel.messages.catalog import Catalog
    from babel.messages.extract import DEFAULT_KEYWORDS, extract, extract_from_dir

    from .notebook_i18n import NOTEBOOKS_DIR

    keywords = {**DEFAULT_KEYWORDS, **{k: None for k in KEYWORDS}}
    cat = Catalog(project="citybridge", domain=DOMAIN, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(package_dir), method_map=[("**.py", "python")], keywords=keywords):
        cat.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    nb_dir = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    for nb in sorted(nb_dir.glob("*.ipynb")) if nb_dir.is_dir() else []:
        cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        code = "\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
                         for c in cells if c.get("cell_type") == "code")
        # extract() applies each keyword's argument spec: T("... {first}", first=", ".join(x))
        # is one message, not a plural pair with the ", " of its argument
        for lineno, message, comments, _context in extract("python", io.BytesIO(code.encode("utf-8")), keywords):
            if message:
                cat.add(message, None, [(f"notebooks/{nb.name}", lineno)], auto_comments=comments)
    return cat


def compile_catalog(po: Path, mo: Path | None = None, *, lang: str | None = None) -> Path:
    """Compile a ``.po`` into the ``.mo`` gettext reads (fuzzy entries left out); returns its path."""
    from babel.messages.mofile import write_mo

    cat = read_catalog(po, lang=lang)
    mo = Path(mo) if mo is not None else Path(po).with_suffix(".mo")
    with open(mo, "wb") as f:
        write_mo(f, cat, use_fuzzy=False)
    return mo


def update_package_catalogs(*, locale_dir: Path = LOCALE_DIR, languages: tuple[str, ...] = TARGET_LANGUAGES,
                            package_dir: Path = PACKAGE_DIR, fragments: Path | None = None) -> dict[str, Path]:
    """Merge the package's current messages into each language's catalog and compile it.

    New messages arrive empty, changed ones fuzzy (with the old translation
    as a suggestion), removed ones are dropped. With ``fragments``, a folder
    of partial catalogs named ``<anything>.<lang>.po`` (translations written
    apart, e.g. by several translators at once), their translations fill the
    catalog's entries. Returns the ``.po`` path per language.
    """
    from babel.messages.catalog import Catalog

    template = extract_package_messages(package_dir)
    out = {}
    for lang in languages:
        po = Path(locale_dir) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        po.parent.mkdir(parents=True, exist_ok=True)
        if po.is_file():
            cat = read_catalog(po, lang=lang)
        else:
            cat = Catalog(locale=LANGUAGES[lang].babel, domain=DOMAIN, project="citybridge", charset="utf-8")
        cat.update(template, update_header_comment=False)
        for part in sorted(Path(fragments).glob(f"*.{lang}.po")) if fragments is not None else []:
            for m in read_catalog(part, lang=lang):
                if m.id and m.string and not m.fuzzy and m.id in cat:
                    cat[m.id].string = m.string
                    cat[m.id].flags.discard("fuzzy")
        write_catalog(po, cat)
        compile_catalog(po, lang=lang)
        out[lang] = po
    return out


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise CitybridgeError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def assemble_pages_book(book_dir: Path, dest: Path, *, pages: tuple[str, ...] = HAND_WRITTEN_PAGES) -> Path:
    """A book of the hand-written pages only, in ``dest/book``, configured as the real one.

    Copies ``_config.yml``, ``_static``, the page catalogs and the pages (and
    ``data/README.md``, which ``data.md`` includes), writes a table of
    contents with the parts and captions of :func:`citybridge.book.write_toc`
    (one English stand-in page, ``cities/index``, holds the place of the
    generated parts) and generates ``conf.py``. Returns the book folder.
    """
    import yaml

    from .book import write_conf
    from .editions import PAGE_LOCALES

    book_dir, dest = Path(book_dir), Path(dest)
    work = dest / "book"
    work.mkdir(parents=True)
    shutil.copy2(book_dir / "_config.yml", work / "_config.yml")
    for folder in ("_static", PAGE_LOCALES):
        if (book_dir / folder).is_dir():
            shutil.copytree(book_dir / folder, work / folder, ignore=shutil.ignore_patterns("*.mo"))
    data_readme = book_dir.parent / "data" / "README.md"
    if data_readme.is_file():  # data.md includes ../data/README.md
        (dest / "data").mkdir(exist_ok=True)
        shutil.copy2(data_readme, dest / "data" / "README.md")
    for p in pages:
        if (book_dir / f"{p}.md").is_file():
            shutil.copy2(book_dir / f"{p}.md", work / f"{p}.md")
    root, rest = pages[0], [p for p in pages[1:] if (work / f"{p}.md").is_file()]
    for stand_in in ("cities/index", "compare/index"):
        (work / stand_in).parent.mkdir()
        (work / f"{stand_in}.md").write_text(
            "# A generated page\n\nThis page stands for the pages that the build generates in English.\n",
            encoding="utf-8")
    toc = {"format": "jb-book", "root": root, "parts": [
        {"caption": "The cities", "chapters": [{"file": "cities/index"}]},
        {"caption": "Comparison", "chapters": [{"file": "compare/index"}]},
        {"caption": "Reference", "chapters": [{"file": p} for p in rest]}]}
    (work / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    write_conf(work)
    return work


def page_templates(book_dir: Path, out_dir: Path, *, pages: tuple[str, ...] = HAND_WRITTEN_PAGES) -> list[Path]:
    """Write the ``.pot`` template of each hand-written page into ``out_dir``.

    Runs Sphinx's ``gettext`` builder with the book's own configuration
    (``_config.yml`` through Jupyter Book, as the real build) on a book of the
    pages (:func:`assemble_pages_book`), so the messages are exactly those
    the editions look up, the captions of the table of contents included
    (they are messages of the root page). Returns the templates written.
    """
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="citybridge-pot-") as tmp:
        work = assemble_pages_book(book_dir, Path(tmp), pages=pages)
        _run([sys.executable, "-m", "sphinx", "-b", "gettext", "-q", str(work), str(work / "_build" / "gettext")],
             "the gettext builder (sphinx -b gettext)")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for p in pages:
            pot = work / "_build" / "gettext" / f"{p}.pot"
            if pot.is_file():
                shutil.copy2(pot, out_dir / pot.name)
                written.append(out_dir / pot.name)
        return written


def update_page_catalogs(book_dir: Path, *, languages: tuple[str, ...] = TARGET_LANGUAGES,
                         pages: tuple[str, ...] = HAND_WRITTEN_PAGES) -> list[Path]:
    """Bring ``book/locales/<lang>/LC_MESSAGES/<page>.po`` in step with the pages (sphinx-intl).

    Returns the catalogs of every language.
    """
    from .editions import PAGE_LOCALES

    book_dir = Path(book_dir)
    with tempfile.TemporaryDirectory(prefix="citybridge-pot-out-") as tmp:
        page_templates(book_dir, Path(tmp), pages=pages)
        cmd = [sys.executable, "-m", "sphinx_intl", "update", "-p", tmp, "-d", str(book_dir / PAGE_LOCALES),
               "-w", "0"]
        for lang in languages:
            cmd += ["-l", lang]
        _run(cmd, "sphinx-intl update")
    return sorted((book_dir / PAGE_LOCALES).glob("*/LC_MESSAGES/*.po"))


__all__ = ["HAND_WRITTEN_PAGES", "TARGET_LANGUAGES", "read_catalog", "missing_translations",
           "translated_messages", "write_catalog",
           "extract_package_messages", "compile_catalog", "update_package_catalogs", "assemble_pages_book",
           "page_templates",
           "update_page_catalogs"]
