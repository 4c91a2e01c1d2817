"""Jupyter Book assembly: table of contents, city pages, build report, HTML.

The table of contents is generated from the cities present, so a new city
folder becomes a new chapter with no edit elsewhere. The HTML is built into a
temporary folder and swapped into ``book/_build/html`` only when complete, so
an interrupted build leaves the previous book readable.

Rebuilds are incremental: the temporary folder starts as a copy of the
previous HTML, Sphinx keeps its environment in ``_build/.doctrees``, and
generated sources (``conf.py``, ``_toc.yml``, city pages, executed
notebooks) are only rewritten when their content changes, so Sphinx reads
and writes only what changed. Every map page then loads Leaflet from one
shared file in ``_static`` instead of carrying its own copy
(:func:`citybridge.site.share_map_assets`).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from .book_pages import city_index_md, page_title, report_md, sample_banner_md  # noqa: F401 (the book's pages)
from .city import City, load_city
from .errors import CitybridgeError
from .pipeline import (BuildReport, CACHE_DIR_NAME, compare_notebooks, current_umask, is_leftover, plan,
                       sphinx_result, start_sphinx)
from .runner import execute, quiet_kernels
from .site import share_map_assets, strip_asset_versions

#: Hand-written reference pages, in the order they appear (those present).
REFERENCE_PAGES = ["methods", "data", "glossary", "workshop", "trainers"]


def _write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless the file already holds it (keeps its mtime, so
    Sphinx does not read it again). Returns whether it was written."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


#: Cell tags whose cells readers of the book never see: the parameters cell
#: (participants in JupyterLab still see it), papermill's injected
#: parameters and instructions addressed to someone who can run code.
READER_HIDDEN_TAGS = ("parameters", "injected-parameters", "lab-only")


def reader_notebook(text: str) -> str:
    """The executed notebook as readers of the book see it (JSON text in, out).

    Drops the cells tagged with :data:`READER_HIDDEN_TAGS` and the exercise
    answer cells (``answer = ...`` with ``exercises.check``): in the book an
    exercise is its question, hint and solution toggle (the code of the cell
    that shows them is removed, its output kept). The executed file
    itself is left as it is (the build cache compares it byte for byte);
    this runs when Sphinx reads it (``source-read``, see ``write_conf``).
    Text that is not a notebook is returned unchanged.
    """
    import json

    try:
        nb = json.loads(text)
        cells = nb["cells"]
    except (ValueError, TypeError, KeyError):
        return text

    def hidden(cell: dict) -> bool:
        tags = cell.get("metadata", {}).get("tags", []) or []
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        return (any(t in READER_HIDDEN_TAGS for t in tags)
                or (cell.get("cell_type") == "code" and "exercises.check(" in src))

    kept = [c for c in cells if not hidden(c)]
    changed = len(kept) != len(cells)
    for c in kept:
        # a cell that only calls citybridge to show something (the exercise's
        # hint and solution) shows its output, not its code
        src = c.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        tags = c.setdefault("metadata", {}).setdefault("tags", [])
        if c.get("cell_type") == "code" and src.strip().startswith("exercises.solution(") \
                and "remove-input" not in tags and "hide-input" not in tags:
            tags.append("remove-input")
            changed = True
    if not changed:
        return text
    nb["cells"] = kept
    return json.dumps(nb, ensure_ascii=False)


def write_toc(book_dir: Path, report: BuildReport, cities: list[City]) -> dict:
    """Write ``_toc.yml`` from what was built successfully."""
    ok = {r.job.output for r in report.results if r.ok}
    parts = []
    city_chapters = []
    for c in cities:
        secs = []
        for r in report.results:
            if r.job.city == c.slug and r.job.output in ok:
                rel = Path(r.job.output).relative_to(book_dir).with_suffix("")
                secs.append({"file": rel.as_posix()})
        ch = {"file": f"cities/{c.slug}/index"}
        if secs:
            ch["sections"] = secs
        city_chapters.append(ch)
    if city_chapters:
        parts.append({"caption": "The cities", "chapters": city_chapters})
    comp = [{"file": Path(r.job.output).relative_to(book_dir).with_suffix("").as_posix()}
            for r in report.results if r.job.city is None and r.job.output in ok]
    if comp:
        parts.append({"caption": "Comparison", "chapters": comp})
    ref = [{"file": p} for p in REFERENCE_PAGES if (book_dir / f"{p}.md").is_file()]
    ref.append({"file": "build-report"})
    parts.append({"caption": "Reference", "chapters": ref})
    toc = {"format": "jb-book", "root": "intro", "parts": parts}
    _write_if_changed(book_dir / "_toc.yml",
                      "# Generated by citybridge build from the cities present; do not edit.\n" +
                      yaml.safe_dump(toc, sort_keys=False, allow_unicode=True))
    return toc


def copy_static(book_dir: Path) -> None:
    """Ship plotly.js once, as a static file of the site."""
    import plotly

    src = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    dest = book_dir / "_static" / "vendor" / "plotly.min.js"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.is_file() or dest.stat().st_size != src.stat().st_size:
        shutil.copyfile(src, dest)


_CONF_OVERRIDES = """
# ---- citybridge overrides (appended by citybridge.book.write_conf) ----
# sphinx-thebe declares its constants twice on notebook pages (a console error)
# and would fetch thebe from a CDN; the book needs neither it nor comments.
extensions = [e for e in extensions if e not in ("sphinx_thebe", "sphinx_comments")]
html_static_path = list(dict.fromkeys(html_static_path))
html_css_files = list(dict.fromkeys(html_css_files))
html_js_files = list(dict.fromkeys(html_js_files))
html_context = {"default_mode": "light"}


# sphinx-book-theme writes the page title unescaped into its print header, so a
# city named "<img src=x onerror=...>" would run there: escape it first.
def _citybridge_escape_pagetitle(app, pagename, templatename, context, doctree):
    import html as _html
    if pagename in app.env.titles:
        context["pagetitle"] = _html.escape(app.env.titles[pagename].astext())


# readers never see the parameters cells, papermill's injected cell, lab-only
# instructions or exercise answer cells (citybridge.book.reader_notebook)
def _citybridge_reader_notebook(app, docname, source):
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        from citybridge.book import reader_notebook
        source[0] = reader_notebook(source[0])


# generated pages (city index, build report) carry every edition's text
# (citybridge.book_pages): the edition's own is read
def _citybridge_page_language(app, docname, source):
    if str(app.env.doc2path(docname)).endswith(".md"):
        from citybridge.book_pages import page_in_language
        source[0] = page_in_language(source[0], app.config.language or "en")


def setup(app):
    app.connect("html-page-context", _citybridge_escape_pagetitle, priority=900)
    app.connect("source-read", _citybridge_reader_notebook)
    app.connect("source-read", _citybridge_page_language)
"""


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else name


def write_conf(book_dir: Path) -> Path:
    """Generate ``conf.py`` from ``_config.yml`` with Jupyter Book, plus overrides.

    Skipped (Jupyter Book takes seconds to start) when ``conf.py`` was made
    from the same ``_config.yml`` and overrides: a stamp in ``_build`` says so.
    """
    conf = book_dir / "conf.py"
    cfg = book_dir / "_config.yml"
    try:
        import jupyter_book

        jb_version = jupyter_book.__version__
    except ImportError:  # pragma: no cover - a dependency
        jb_version = ""
    want = hashlib.sha256(cfg.read_bytes() + _CONF_OVERRIDES.encode() + jb_version.encode()).hexdigest() \
        if cfg.is_file() else ""
    stamp = book_dir / "_build" / ".conf-stamp"
    if want and conf.is_file() and stamp.is_file() and \
            stamp.read_text(encoding="utf-8") == want + hashlib.sha256(conf.read_bytes()).hexdigest():
        return conf
    proc = subprocess.run([_tool("jupyter-book"), "config", "sphinx", str(book_dir)],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not conf.is_file():
        raise CitybridgeError(f"{book_dir / '_config.yml'}: jupyter-book could not read it:\n"
                              + (proc.stdout + proc.stderr).strip()[-2000:])
    conf.write_text(conf.read_text(encoding="utf-8") + _CONF_OVERRIDES, encoding="utf-8")
    if want:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(want + hashlib.sha256(conf.read_bytes()).hexdigest(), encoding="utf-8")
    return conf


def build_html(book_dir: Path, *, strict: bool = False) -> Path:
    """Build the HTML into a temporary folder, then swap it into ``_build/html``.

    Jupyter Book 1.x generates the Sphinx configuration; Sphinx builds it.

    Raises
    ------
    CitybridgeError
        When the build fails; the message carries its last lines.
    """
    build_root = book_dir / "_build"
    build_root.mkdir(exist_ok=True)
    _remove_stale_temporaries(build_root)
    write_conf(book_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".html-{os.getpid()}-", dir=build_root))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it 0700: the published book follows the umask
    final = build_root / "html"
    sources = "\n".join(_source_docs(book_dir))
    manifest = build_root / ".html-sources"
    if final.is_dir() and manifest.is_file() and manifest.read_text(encoding="utf-8") == sources:
        # same pages as last time: start from the previous book, so Sphinx
        # writes only the pages that changed (with pages added or removed,
        # start afresh so that no stale page stays behind)
        shutil.copytree(final, tmp, dirs_exist_ok=True)
    code, tail = sphinx_result(start_sphinx(book_dir, tmp, build_root / ".doctrees", strict=strict))
    if code != 0 or not (tmp / "index.html").is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        raise CitybridgeError(f"the book did not build (sphinx exit {code}):\n{tail}")
    _refresh_static(book_dir / "_static", tmp / "_static")
    strip_asset_versions(tmp)
    share_map_assets(tmp)
    manifest.unlink(missing_ok=True)
    old = build_root / ".html-old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    manifest.write_text(sources, encoding="utf-8")
    return final / "index.html"


def _refresh_static(src: Path, dest: Path) -> None:
    """Copy the book's own static files (``book/_static``) that changed since
    the previous HTML: Sphinx does not overwrite a static file already present
    in the output it starts from, so an edited stylesheet would not reach the
    rebuilt book."""
    if not src.is_dir():
        return
    for f in src.rglob("*"):
        if f.is_file():
            d = dest / f.relative_to(src)
            if not d.is_file() or d.read_bytes() != f.read_bytes():
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, d)


def _source_docs(book_dir: Path) -> list[str]:
    """The book's source documents (relative paths), for the incremental-build check."""
    out = []
    for p in book_dir.rglob("*"):
        rel = p.relative_to(book_dir)
        if p.suffix in (".md", ".ipynb", ".rst") and not any(part.startswith(("_build", ".")) for part in rel.parts):
            out.append(rel.as_posix())
    return sorted(out)


def _remove_stale_temporaries(build_root: Path, older_than_s: float = 600) -> None:
    """Remove half-written HTML folders left by killed builds (not those of a
    build still running: see :func:`citybridge.pipeline.is_leftover`)."""
    for p in build_root.glob(".html-*"):
        try:
            if p.is_dir() and p.name != ".html-old" and is_leftover(p, older_than_s=older_than_s):
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def build(root: Path, *, cities: list[str] | None = None, workers: int = 1, scheduler: str | None = None,
          use_cache: bool = True, strict: bool = False, html_out: bool = True,
          editions: tuple[str, ...] | None = None) -> tuple[BuildReport, Path | None]:
    """Execute every notebook for every city and build the book.

    ``editions`` are the languages of the book (default: every language of
    the workbook, English first); each chapter is executed once and draws
    its outputs in all of them (:mod:`citybridge.texts`).

    Returns the report and the path of ``index.html`` (None when ``html_out``
    is False).
    """
    from .editions import EDITIONS
    from .texts import drawing_languages, editions_of

    editions = editions_of(editions or EDITIONS)
    with drawing_languages(editions):  # the kernels draw every output in these languages
        return _build(root, cities=cities, workers=workers, scheduler=scheduler, use_cache=use_cache,
                      strict=strict, html_out=html_out, editions=editions)


def _build(root: Path, *, cities, workers, scheduler, use_cache, strict, html_out,
           editions: tuple[str, ...]) -> tuple[BuildReport, Path | None]:
    book_dir = root / "book"
    jobs, city_errors = plan(root, cities=cities, book_dir=book_dir)
    # --no-cache re-executes every notebook but still stores the results, so
    # the next build can reuse them
    with quiet_kernels(root / CACHE_DIR_NAME):
        results = execute(jobs, workers=workers, scheduler=scheduler, cache_dir=root / CACHE_DIR_NAME,
                          reuse=use_cache, cwd=root / "notebooks")
    report = BuildReport(results=list(results), city_errors=city_errors, boards=results.boards)
    built = []
    for slug in sorted({j.city for j in jobs if j.city}):
        c = load_city(slug, root=root / "data" / "cities")
        built.append(c)
        _write_if_changed(book_dir / "cities" / slug / "index.md", city_index_md(c))
    _write_if_changed(book_dir / "build-report.md", report_md(report))
    (book_dir / "_build").mkdir(parents=True, exist_ok=True)
    (book_dir / "_build" / "build-report.json").write_text(report.to_json(), encoding="utf-8")
    write_toc(book_dir, report, built)
    copy_static(book_dir)
    index = build_html(book_dir, strict=strict) if html_out else None
    if index is not None:  # the English, Spanish and Chinese editions, and the root page offering them
        from .editions import build_editions

        build_editions(book_dir, index.parent, strict=strict, languages=editions)
    return report, index


__all__ = ["build", "build_html", "write_toc", "report_md", "city_index_md", "page_title", "sample_banner_md",
           "compare_notebooks"]
