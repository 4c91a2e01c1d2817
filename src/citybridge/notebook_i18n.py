"""The notebooks' narrative in Spanish and Chinese: catalogs and translated notebooks.

Every markdown cell of ``notebooks/*.ipynb`` is one gettext message (its
whole text, so a translator sees a paragraph with its headings and lists in
context). The messages of one chapter live in one catalog per language,
shared by every city: ``book/locales/<lang>/LC_MESSAGES/notebooks/<chapter>.po``
(``<chapter>`` is the notebook's name, ``02_service`` or ``compare``).

The catalogs serve twice:

* **the book's editions** — when Sphinx reads an executed notebook page for
  the Spanish or Chinese edition, its markdown cells are replaced by their
  translation (:func:`translate_notebook_text`, from the ``source-read``
  hook of ``conf.py``); outputs computed at execution stay as they were;
* **the workshop** — ``make lab lang=es`` writes translated copies of the
  notebooks, outputs stripped and code cells unchanged, into the git-ignored
  ``notebooks/_es/`` (:func:`write_lab_notebooks`) and opens JupyterLab there
  with ``CITYBRIDGE_LANG`` set for the kernels.

A markdown cell whose English text is not in the catalog (a changed cell)
stays in English; :func:`catalog_problems` lists such cells and every empty
or fuzzy entry, and a unit test keeps that list empty.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from .errors import CitybridgeError
from .i18n import LANGUAGES, SOURCE_LANGUAGE
from .texts import VARIANTS_KEY

#: Sub-folder of ``LC_MESSAGES`` that holds the chapters' catalogs.
NOTEBOOK_CATALOGS = "notebooks"

#: The project's folders (a source checkout).
PROJECT_DIR = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
LOCALE_ROOT = PROJECT_DIR / "book" / "locales"

_STAMP = ".citybridge-lab-stamp.json"


def cell_text(cell: dict) -> str:
    """A cell's source as one string (notebooks store it as a list of lines or a string)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def markdown_messages(notebook: Path) -> list[str]:
    """The messages of a notebook: the text of each non-empty markdown cell, in order, without duplicates."""
    nb = read_notebook(notebook)
    out: list[str] = []
    for c in nb.get("cells", []):
        text = cell_text(c).strip()
        if c.get("cell_type") == "markdown" and text and text not in out:
            out.append(text)
    return out


def read_notebook(path: Path) -> dict:
    """A notebook file as its JSON dictionary.

    Raises
    ------
    CitybridgeError
        When the file is not a readable notebook (the message names it).
    """
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no 'cells' list")
        return nb
    except (OSError, ValueError, AttributeError) as e:
        raise CitybridgeError(f"{path}: not a readable Jupyter notebook ({e}); restore it from git") from None


def catalog_path(lang: str, chapter: str, *, locale_root: Path = LOCALE_ROOT) -> Path:
    """Where the catalog of one chapter (``02_service``) in one language lives."""
    return Path(locale_root) / lang / "LC_MESSAGES" / NOTEBOOK_CATALOGS / f"{chapter}.po"


def catalog_messages(po: Path) -> dict[str, str]:
    """The usable translations of a chapter catalog (empty and fuzzy entries left out); ``{}`` when absent."""
    from .catalogs import translated_messages

    return translated_messages(po)


def catalog_problems(notebook: Path, po: Path) -> list[str]:
    """What keeps a chapter from being fully translated: each problem as one line.

    Lists the catalog's empty and fuzzy entries (:func:`citybridge.catalogs.missing_translations`)
    and every markdown cell of ``notebook`` whose text is not a message of the catalog.
    """
    from .catalogs import missing_translations, read_catalog

    if not Path(po).is_file():
        return [f"{po}: no catalog for {Path(notebook).name}"]
    out = [f"{po}: empty or fuzzy: {m[:70]!r}" for m in missing_translations(po)]
    ids = {m.id for m in read_catalog(po) if m.id}
    out += [f"{po}: markdown cell of {Path(notebook).name} not in the catalog: {t[:70]!r}"
            for t in markdown_messages(notebook) if t not in ids]
    return out


def update_notebook_catalogs(notebooks_dir: Path = NOTEBOOKS_DIR, *, locale_root: Path = LOCALE_ROOT,
                             languages: tuple[str, ...] | None = None) -> list[Path]:
    """Bring every chapter's catalog in step with its notebook's markdown cells.

    New cells arrive as empty entries, changed ones as fuzzy entries carrying
    the old translation as a suggestion (Babel's merge), removed ones are
    dropped. Returns the catalogs written.
    """
    from babel.messages.catalog import Catalog

    from .catalogs import TARGET_LANGUAGES, read_catalog, write_catalog

    written = []
    for nb in sorted(Path(notebooks_dir).glob("*.ipynb")):
        template = Catalog(project="citybridge", domain=nb.stem, charset="utf-8")
        for i, text in enumerate(markdown_messages(nb), 1):
            template.add(text, None, [(nb.name, i)])
        for lang in languages or TARGET_LANGUAGES:
            po = catalog_path(lang, nb.stem, locale_root=locale_root)
            po.parent.mkdir(parents=True, exist_ok=True)
            cat = read_catalog(po, lang=lang) if po.is_file() else Catalog(
                locale=LANGUAGES[lang].babel, domain=nb.stem, project="citybridge", charset="utf-8")
            cat.update(template, update_header_comment=False)
            written.append(write_catalog(po, cat))
    return written


def translate_notebook(nb: dict, messages: dict[str, str], lang: str | None = None) -> dict:
    """The notebook with each markdown cell whose text is in ``messages`` replaced
    by its translation and, with ``lang``, each output drawn in that language
    (its ``metadata.citybridge.i18n`` drawing, see :mod:`citybridge.texts`) in
    place of the English one.

    Code cells and other metadata are untouched; the dictionary is changed in place and returned.
    """
    for c in nb.get("cells", []):
        if c.get("cell_type") == "markdown":
            new = messages.get(cell_text(c).strip())
            if new:
                c["source"] = new
        elif lang is not None:
            for out in c.get("outputs", []):
                use_drawing(out, lang)
    return nb


def use_drawing(output: dict, lang: str) -> bool:
    """Put an output's drawing in ``lang`` in place of its data (True when it had one)."""
    variants = ((output.get("metadata") or {}).get("citybridge") or {}).get(VARIANTS_KEY) or {}
    drawn = variants.get(lang)
    if not isinstance(drawn, dict) or "data" not in output:
        return False
    data = {k: v for k, v in output["data"].items() if k in drawn or k.startswith("text/")}
    data.update(drawn)
    if "application/vnd.plotly.v1+json" in output["data"] and "application/vnd.plotly.v1+json" not in drawn:
        data.pop("application/vnd.plotly.v1+json", None)
    output["data"] = data
    return True


def translate_notebook_text(text: str, chapter: str, lang: str, *, locale_root: Path) -> str:
    """An executed notebook (JSON text) with its narrative in ``lang``; for Sphinx's ``source-read``.

    Text that is not a notebook, English, and a chapter without a catalog come back unchanged.
    """
    if lang == SOURCE_LANGUAGE or lang not in LANGUAGES:
        return text
    messages = catalog_messages(catalog_path(lang, chapter, locale_root=locale_root))
    try:
        nb = json.loads(text)
    except ValueError:
        return text
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return text
    before = json.dumps(nb, sort_keys=True)
    translate_notebook(nb, messages, lang)
    return text if json.dumps(nb, sort_keys=True) == before else json.dumps(nb, ensure_ascii=False, indent=1)


def lab_notebook(nb: dict, messages: dict[str, str], lang: str) -> dict:
    """A notebook for the workshop in ``lang``: narrative translated, outputs stripped.

    Code cells keep their source and tags (the ``parameters`` cell included);
    their outputs and execution counts are cleared, and the notebook's
    ``language_info`` is left as it is (that is the kernel's language).
    """
    translate_notebook(nb, messages)
    for c in nb.get("cells", []):
        if c.get("cell_type") == "code":
            c["outputs"] = []
            c["execution_count"] = None
    nb.setdefault("metadata", {})["citybridge"] = {"language": lang}
    return nb


def _stamp_of(src: Path, po: Path) -> str:
    h = hashlib.sha256(src.read_bytes())
    h.update(po.read_bytes() if po.is_file() else b"")
    h.update(Path(__file__).read_bytes())  # a change of how copies are made regenerates them
    return h.hexdigest()


def write_lab_notebooks(lang: str, *, notebooks_dir: Path = NOTEBOOKS_DIR, out_dir: Path | None = None,
                        locale_root: Path = LOCALE_ROOT) -> tuple[Path, list[Path]]:
    """Write the translated copies of every notebook for ``make lab lang=<lang>``.

    Each ``notebooks/<name>.ipynb`` becomes ``out_dir/<name>.ipynb``
    (default ``notebooks/_<lang>/``) through :func:`lab_notebook`. A copy is
    rewritten only when its source notebook or its chapter's catalog changed
    since it was written (a stamp file in ``out_dir`` holds their hashes), so
    a participant's edits survive until the English or the translation
    changes; copies of removed notebooks are deleted.

    Returns
    -------
    tuple
        The folder and the copies (re)written.

    Raises
    ------
    CitybridgeError
        For a language the workbook does not speak, or English (the notebooks themselves are English).
    """
    if lang not in LANGUAGES or lang == SOURCE_LANGUAGE:
        raise CitybridgeError(f"lang={lang!r}: translated notebooks exist for "
                              f"{', '.join(c for c in LANGUAGES if c != SOURCE_LANGUAGE)}; "
                              f"English is the notebooks folder itself")
    notebooks_dir = Path(notebooks_dir)
    out = Path(out_dir) if out_dir is not None else notebooks_dir / f"_{lang}"
    out.mkdir(parents=True, exist_ok=True)
    stamp_file = out / _STAMP
    try:
        stamps = json.loads(stamp_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stamps = {}
    sources = sorted(notebooks_dir.glob("*.ipynb"))
    written = []
    new_stamps = {}
    for src in sources:
        po = catalog_path(lang, src.stem, locale_root=locale_root)
        dest = out / src.name
        stamp = _stamp_of(src, po)
        new_stamps[src.name] = stamp
        if dest.is_file() and stamps.get(src.name) == stamp:
            continue
        nb = lab_notebook(read_notebook(src), catalog_messages(po), lang)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, dest)
        written.append(dest)
    for name in set(stamps) - set(new_stamps):
        (out / name).unlink(missing_ok=True)
    stamp_file.write_text(json.dumps(new_stamps, indent=1, sort_keys=True), encoding="utf-8")
    return out, written


def _translate_on_read(app, docname: str, source: list[str]) -> None:
    path = Path(app.env.doc2path(docname))
    lang = app.config.language or SOURCE_LANGUAGE
    if path.suffix != ".ipynb" or lang == SOURCE_LANGUAGE:
        return
    from .editions import PAGE_LOCALES

    root = Path(app.srcdir) / PAGE_LOCALES
    po = catalog_path(lang, path.stem, locale_root=root)
    if po.is_file():
        app.env.note_dependency(str(po))  # a changed translation re-reads the page
    source[0] = translate_notebook_text(source[0], path.stem, lang, locale_root=root)


def setup(app) -> dict:
    """Sphinx extension (``extra_extensions`` in ``book/_config.yml``): executed notebook pages are
    read with their narrative in the edition's ``language``, from ``locales/<lang>/LC_MESSAGES/notebooks/``."""
    app.connect("source-read", _translate_on_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    """``python -m citybridge.notebook_i18n LANG``: write the translated notebooks (``make lab``)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m citybridge.notebook_i18n {es,zh}")
    try:
        write_lab_notebooks(args[0])
    except CitybridgeError as e:
        raise SystemExit(f"error: {e}") from None
    return 0


__all__ = ["NOTEBOOK_CATALOGS", "cell_text", "markdown_messages", "read_notebook", "catalog_path",
           "catalog_messages", "catalog_problems", "update_notebook_catalogs", "translate_notebook",
           "translate_notebook_text", "lab_notebook", "write_lab_notebooks", "setup", "main"]

if __name__ == "__main__":  # pragma: no cover - make lab
    sys.exit(main())
