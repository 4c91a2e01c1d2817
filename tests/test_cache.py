"""Rebuild reuse: an unchanged notebook is not executed again, a cached
rebuild gives the same book, and a changed data file re-runs exactly that
city's chapters and the comparison, while every page shows the new figures.

Most tests use a small temporary project: Hangzhou and a fixture city with
the real chapters 02 (a side-by-side table), 07 (the KPI board) and the
comparison, executed with ``runner.execute`` (no HTML). One test rebuilds
the session's sample book from its cache and compares the pages.
"""
from __future__ import annotations

import html
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from citybridge.pipeline import CACHE_DIR_NAME, job_key, plan
from citybridge.runner import execute
from conftest import copy_project
from gtfs_fixtures import timetable_tables, write_feed

KEEP = ("02_service.ipynb", "07_operations.ipynb", "compare.ipynb")
LABELS = {"alpha: 02_service", "hangzhou: 02_service", "alpha: 07_operations", "hangzhou: 07_operations",
          "all cities: compare"}
#: a weekday trip of Hangzhou's sample feed (every weekday runs the same service)
TRIP = b"F01_weekday_0_053000"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from citybridge.newcity import new_city

    base = tmp_path_factory.mktemp("cache")
    root = copy_project(base / "project")
    shutil.rmtree(root / "data" / "cities" / "santiago")  # slow; Hangzhou and a fixture city suffice
    for nb in (root / "notebooks").glob("*.ipynb"):
        if nb.name not in KEEP:
            nb.unlink()
    new_city("alpha", write_feed(base / "alpha.zip", timetable_tables()), root=root / "data" / "cities")
    return root


def _run(root: Path, reuse: bool = True):
    jobs, errors = plan(root)
    assert not errors, errors
    results = execute(jobs, cache_dir=root / CACHE_DIR_NAME, cwd=root / "notebooks", reuse=reuse)
    failed = {r.job.label: r.error for r in results if not r.ok}
    assert not failed, failed
    return {r.job.label: r.cached for r in results}, {b.city: b.cached for b in results.boards}


def _outputs(root: Path) -> dict[str, tuple[bytes, int]]:
    book = root / "book"
    return {str(p.relative_to(book)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(book.glob("c*/**/*.ipynb"))}


def _keys(root: Path) -> dict[str, str]:
    return {j.label: j.key for j in plan(root)[0]}


def _drop_trip(zip_path: Path, trip: bytes) -> None:
    """Remove one trip (its trips.txt row and its stop times) from a feed."""
    with zipfile.ZipFile(zip_path) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    for name in ("trips.txt", "stop_times.txt"):
        files[name] = b"".join(ln for ln in files[name].splitlines(keepends=True) if trip + b"," not in ln)
    zip_path.unlink()
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def _shown(page: Path, kpi: str, column: str) -> str:
    """The figure a page shows for ``kpi`` in the table column whose header starts with
    ``column`` (in the last HTML table of the page that has the KPI's row)."""
    found = ""
    for cell in nbformat.read(page, as_version=4).cells:
        for out in cell.get("outputs", []):
            text = (out.get("data") or {}).get("text/html", "")
            rows = [[html.unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
                    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", text, re.S)]
            if not rows or not any(kpi in r for r in rows[1:]):
                continue
            col = next(i for i, h in enumerate(rows[0]) if h.startswith(column))
            found = next(r[col] for r in rows[1:] if kpi in r)
    assert found, (page, kpi)
    return found


def test_unchanged_rebuild_reuses_every_notebook_untouched(project):
    first, boards = _run(project)
    assert set(first) == LABELS and not any(first.values()), first
    assert set(boards) == {"alpha", "hangzhou"}
    before = _outputs(project)
    second, boards = _run(project)
    assert all(second.values()), second
    assert all(boards.values()), boards  # each board computed once, then read
    # same executed notebooks, not even rewritten (so Sphinx sees them unchanged)
    assert _outputs(project) == before


def test_changed_city_data_reruns_that_city_and_the_comparison_and_every_page_shows_it(project):
    book = project / "book"
    alpha_page = book / "cities" / "alpha" / "02_service.ipynb"
    compare_page = book / "compare" / "compare.ipynb"
    old = int(_shown(alpha_page, "trips per day", "Hangzhou").replace(",", ""))
    assert int(_shown(compare_page, "trips per day", "Hangzhou").replace(",", "")) == old
    before = _keys(project)
    _drop_trip(project / "data" / "cities" / "hangzhou" / "gtfs.zip", TRIP)
    after = _keys(project)
    changed = {label for label in before if before[label] != after[label]}
    assert changed == {"hangzhou: 02_service", "hangzhou: 07_operations", "all cities: compare"}
    results, boards = _run(project)
    assert {label for label, cached in results.items() if not cached} == changed
    assert boards == {"alpha": True, "hangzhou": False}  # only Hangzhou's board is computed again
    # one weekday trip fewer, on every page that shows Hangzhou: its own chapter, the other city's
    # side-by-side table (redrawn by the build, not re-executed) and the comparison
    new = f"{old - 1:,}"
    assert _shown(book / "cities" / "hangzhou" / "02_service.ipynb", "trips per day", "Hangzhou") == new
    assert _shown(alpha_page, "trips per day", "Hangzhou") == new
    assert _shown(compare_page, "trips per day", "Hangzhou") == new
    # and a rebuild after that reuses everything, pages untouched
    pages = _outputs(project)
    again, boards = _run(project)
    assert all(again.values()) and all(boards.values())
    assert _outputs(project) == pages


def test_changed_notebook_reruns_that_notebook_only(project):
    path = project / "notebooks" / "02_service.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("One more note for the workshop."))
    before = _keys(project)
    nbformat.write(nb, path)
    after = _keys(project)
    assert {label for label in before if before[label] != after[label]} == {"alpha: 02_service",
                                                                             "hangzhou: 02_service"}


def test_key_covers_package_and_environment(project):
    nb = project / "notebooks" / "02_service.ipynb"
    folders = {"alpha": project / "data" / "cities" / "alpha"}
    k = job_key(nb, {"city": "alpha"}, folders, "pkg-1", "env-1")
    assert k == job_key(nb, {"city": "alpha"}, folders, "pkg-1", "env-1")
    assert k != job_key(nb, {"city": "alpha"}, folders, "pkg-2", "env-1")
    assert k != job_key(nb, {"city": "alpha"}, folders, "pkg-1", "env-2")
    assert k != job_key(nb, {"city": "alpha", "date": "20260106"}, folders, "pkg-1", "env-1")


def test_cached_rebuild_gives_the_same_book(built_book, tmp_path):
    """The sample book rebuilt from its cache: every notebook reused, the same
    executed notebooks, the same HTML pages (the build report aside)."""
    from citybridge.book import build

    root, first_report, index = built_book
    html = index.parent
    work = tmp_path / "p"
    shutil.copytree(root, work, ignore=shutil.ignore_patterns("_build"))
    report, index2 = build(work, strict=True)
    assert all(r.cached for r in report.results) and not report.failures
    for r in first_report.results:
        a = Path(r.job.output)
        b = work / a.relative_to(root)
        assert a.read_bytes() == b.read_bytes(), b
    html2 = index2.parent

    def pages(d: Path) -> dict[str, bytes]:
        return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*.html"))
                if "_static" not in p.parts and p.name != "build-report.html"}

    want, got = pages(html), pages(html2)
    assert set(got) == set(want)
    differ = [name for name in want if want[name] != got[name]]
    assert not differ, differ
    # and an incremental rebuild with nothing changed leaves every page as it was
    report3, index3 = build(work, strict=True)
    assert all(r.cached for r in report3.results)
    assert pages(index3.parent) == got
