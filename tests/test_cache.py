"""Rebuild reuse: an unchanged notebook is not executed again, a cached
rebuild gives the same book, and a changed data file re-runs exactly the
notebooks that read it.

Most tests use a small temporary project: two fixture cities and three short
notebooks (a real one, one that shows every city side by side, and a
comparison notebook), executed with ``pipeline.execute`` (no HTML). One test
rebuilds the session's sample book from its cache and compares the pages.
"""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from citybridge.pipeline import CACHE_DIR_NAME, execute, job_key, plan, reads_all_cities
from conftest import copy_project
from gtfs_fixtures import frequency_tables, timetable_tables, write_feed

ALL_CITIES_NB = """
from citybridge import notebook as nb
from citybridge.city import list_cities, load_city

place = nb.open_city(city, cities_root)
# shows every city side by side, as the chapters' KPI tables do
print(place.name, {s: load_city(s).gtfs_path.stat().st_size for s in list_cities()})
"""

COMPARE_NB = """
import os
from citybridge.city import CITIES_ENV, load_city

if cities_root:
    os.environ[CITIES_ENV] = cities_root
print([load_city(s).name for s in cities.split(",")])
"""


def _notebook(path: Path, params: str, code: str, meta: dict | None = None) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if meta:
        nb.metadata["citybridge"] = meta
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from citybridge.newcity import new_city

    base = tmp_path_factory.mktemp("cache")
    root = copy_project(base / "project")
    for slug in ("santiago", "hangzhou"):
        shutil.rmtree(root / "data" / "cities" / slug)
    for nb in (root / "notebooks").glob("*.ipynb"):
        if nb.name != "00_data_check.ipynb":
            nb.unlink()
    _notebook(root / "notebooks" / "05_all_cities.ipynb", 'city = "alpha"\ncities_root = ""', ALL_CITIES_NB)
    _notebook(root / "notebooks" / "compare.ipynb", 'cities = ""\ncities_root = ""', COMPARE_NB)
    cities = root / "data" / "cities"
    new_city("alpha", write_feed(base / "alpha.zip", timetable_tables()), root=cities)
    new_city("beta", write_feed(base / "beta.zip", frequency_tables()), root=cities)
    return root


def _run(root: Path, reuse: bool = True) -> dict[str, bool]:
    jobs, errors = plan(root)
    assert not errors, errors
    results = execute(jobs, cache_dir=root / CACHE_DIR_NAME, cwd=root / "notebooks", reuse=reuse)
    failed = {r.job.label: r.error for r in results if not r.ok}
    assert not failed, failed
    return {r.job.label: r.cached for r in results}


def _outputs(root: Path) -> dict[str, tuple[bytes, int]]:
    book = root / "book"
    return {str(p.relative_to(book)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(book.glob("c*/**/*.ipynb"))}


def _keys(root: Path) -> dict[str, str]:
    return {j.label: j.key for j in plan(root)[0]}


def _change_stop_name(zip_path: Path) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    files["stops.txt"] = files["stops.txt"].replace(b"Tres", b"Tres Norte")
    zip_path.unlink()
    with zipfile.ZipFile(zip_path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


LABELS = {"alpha: 00_data_check", "beta: 00_data_check", "alpha: 05_all_cities", "beta: 05_all_cities",
          "all cities: compare"}


def test_which_notebooks_read_every_city(project):
    nbs = project / "notebooks"
    assert reads_all_cities(nbs / "05_all_cities.ipynb")
    assert not reads_all_cities(nbs / "00_data_check.ipynb")
    # the notebook's own metadata has the last word
    tmp = nbs.parent / "own.ipynb"
    _notebook(tmp, 'city = ""', ALL_CITIES_NB, meta={"cities": "own"})
    assert not reads_all_cities(tmp)
    tmp.unlink()


def test_unchanged_rebuild_reuses_every_notebook_untouched(project):
    first = _run(project)
    assert set(first) == LABELS and not any(first.values()), first
    before = _outputs(project)
    second = _run(project)
    assert all(second.values()), second
    # same executed notebooks, not even rewritten (so Sphinx sees them unchanged)
    assert _outputs(project) == before


def test_changed_city_data_reruns_that_city_and_every_city_notebooks_only(project):
    before = _keys(project)
    _change_stop_name(project / "data" / "cities" / "beta" / "gtfs.zip")
    after = _keys(project)
    changed = {label for label in before if before[label] != after[label]}
    # beta's own notebooks, the chapter that shows every city (for alpha too,
    # since its page shows beta's figures) and the comparison; nothing else
    assert changed == {"beta: 00_data_check", "beta: 05_all_cities", "alpha: 05_all_cities",
                       "all cities: compare"}
    ran = {label for label, cached in _run(project).items() if not cached}
    assert ran == changed
    page = nbformat.read(project / "book" / "cities" / "beta" / "00_data_check.ipynb", as_version=4)
    assert page.cells  # executed again, in place


def test_changed_notebook_reruns_that_notebook_only(project):
    path = project / "notebooks" / "00_data_check.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("One more note for the workshop."))
    before = _keys(project)
    nbformat.write(nb, path)
    after = _keys(project)
    assert {label for label in before if before[label] != after[label]} == {"alpha: 00_data_check",
                                                                             "beta: 00_data_check"}


def test_no_cache_executes_everything_and_refreshes_the_cache(project):
    forced = _run(project, reuse=False)
    assert set(forced) == LABELS and not any(forced.values())
    assert all(_run(project).values())


def test_key_covers_package_and_environment(project):
    nb = project / "notebooks" / "00_data_check.ipynb"
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
