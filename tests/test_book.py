"""The book: every notebook runs for every sample city, the book builds, and a
broken city does not stop the others."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from citybridge.book import build
from citybridge.city import list_cities
from citybridge.pipeline import city_notebooks, compare_notebooks
from conftest import ROOT


def test_every_notebook_runs_for_every_city(built_book):
    root, report, index = built_book
    assert not report.city_errors, report.city_errors
    failed = {r.job.label: r.error for r in report.failures}
    assert not failed, failed
    n_nb = len(city_notebooks(ROOT))
    n_cities = len(list_cities(ROOT / "data" / "cities"))
    assert n_nb >= 1 and n_cities >= 2
    assert len(report.results) == n_nb * n_cities + len(compare_notebooks(ROOT))


def test_book_has_one_page_per_city_notebook(built_book):
    root, report, index = built_book
    assert index == root / "book" / "_build" / "html" / "index.html" and index.is_file()
    html = root / "book" / "_build" / "html"
    for slug in list_cities(root / "data" / "cities"):
        assert (html / "cities" / slug / "index.html").is_file()
        for nb in city_notebooks(root):
            page = html / "cities" / slug / f"{nb.stem}.html"
            assert page.is_file(), page
            text = page.read_text(encoding="utf-8")
            want = {"santiago": "Reconstructed from official data", "hangzhou": "Illustrative sample data"}
            assert want.get(slug, "") in text, (slug, nb.stem)
            if slug == "santiago":  # the reconstructed city says where its network comes from
                assert "GTFS V166.20260704" in text and "Illustrative sample data" not in text
    toc = (root / "book" / "_toc.yml").read_text(encoding="utf-8")
    assert "cities/santiago/01_network" in toc and "cities/hangzhou/01_network" in toc
    assert (html / "build-report.html").is_file()


def test_executed_notebooks_are_not_tracked():
    ignored = (ROOT / ".gitignore").read_text()
    for pattern in ("book/_build/", "book/cities/", "book/compare/"):
        assert pattern in ignored


def test_missing_gtfs_fails_that_city_only(built_book, tmp_path):
    root, _, _ = built_book
    work = tmp_path / "p"
    shutil.copytree(root, work, ignore=shutil.ignore_patterns("_build"))
    (work / "data" / "cities" / "hangzhou" / "gtfs.zip").unlink()
    report, index = build(work, strict=False)
    assert "hangzhou" in report.city_errors
    assert "gtfs.zip: the GTFS feed named by 'gtfs' is missing" in report.city_errors["hangzhou"]
    html = work / "book" / "_build" / "html"
    assert (html / "cities" / "santiago" / "01_network.html").is_file()
    assert not (html / "cities" / "hangzhou").exists()
    # cached: santiago's chapters depend on santiago's files only, so they were reused, not
    # re-executed (their side-by-side tables were redrawn without hangzhou); only chapter 05,
    # whose scenario chart quotes the other cities' grid factors (its "profiles"), re-ran
    from citybridge.pipeline import notebook_meta
    santiago = [r for r in report.results if r.job.city == "santiago"]
    own = [r for r in santiago if not notebook_meta(Path(r.job.notebook)).get("profiles")]
    assert own and all(r.cached for r in own)
    assert all(r.ok for r in santiago), [r.error for r in santiago if not r.ok]
    sbs = (html / "cities" / "santiago" / "02_service.html").read_text(encoding="utf-8")
    assert "Not shown side by side: Hangzhou: its GTFS feed is missing (see the build report)." in sbs
    page = (html / "build-report.html").read_text(encoding="utf-8")
    assert "Cities that could not be built" in page and "hangzhou" in page


def test_failing_notebook_is_reported_and_others_build(built_book, tmp_path):
    root, _, _ = built_book
    work = tmp_path / "p"
    shutil.copytree(root, work, ignore=shutil.ignore_patterns("_build"))
    (work / "notebooks" / "99_broken.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": "a", "metadata": {"tags": ["parameters"]},
                   "outputs": [], "source": "city = 'x'\ncities_root = ''"},
                  {"cell_type": "code", "execution_count": None, "id": "b", "metadata": {}, "outputs": [],
                   "source": "raise ValueError('deliberately broken for the test')"}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    report, index = build(work, strict=False)
    fails = {r.job.label for r in report.failures}
    assert fails == {"santiago: 99_broken", "hangzhou: 99_broken"}
    page = (work / "book" / "_build" / "html" / "build-report.html").read_text(encoding="utf-8")
    assert "deliberately broken for the test" in page
    assert (work / "book" / "_build" / "html" / "cities" / "hangzhou" / "01_network.html").is_file()


# ---- the book as a reader sees it (checks in tests/book_checks.py) ----------

def test_no_page_shows_parameters_injected_or_answer_cells(built_book):
    from book_checks import machinery_shown

    root, _, index = built_book
    assert machinery_shown(index.parent) == {}


def test_no_table_writes_a_whole_number_with_decimals(built_book):
    from book_checks import decimal_counts

    root, _, index = built_book
    assert decimal_counts(index.parent) == {}


def test_no_code_identifier_in_prose_or_table_headers(built_book):
    from book_checks import identifiers_shown

    root, _, index = built_book
    assert identifiers_shown(index.parent) == {}


def test_participants_still_see_the_parameters_cell():
    import nbformat

    for nb_path in city_notebooks(ROOT) + compare_notebooks(ROOT):
        nb = nbformat.read(nb_path, 4)
        tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
        assert tags.count("parameters") == 1, nb_path


def test_reader_notebook_drops_machinery_only():
    from citybridge.book import reader_notebook

    nb = {"cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "city = 'x'"},
        {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "source": "# Parameters\ncity = 'y'"},
        {"cell_type": "markdown", "metadata": {"tags": ["lab-only"]}, "source": "Put it in `answer`."},
        {"cell_type": "markdown", "metadata": {}, "source": "**2.1** How many?"},
        {"cell_type": "code", "metadata": {}, "source": ["answer = None\n", "exercises.check('02.1', answer)"]},
        {"cell_type": "code", "metadata": {"tags": ["hide-input"]}, "source": "exercises.solution('02.1')"}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    out = json.loads(reader_notebook(json.dumps(nb)))
    assert [c["source"] for c in out["cells"]] == ["**2.1** How many?", "exercises.solution('02.1')"]
    assert out["cells"][1]["metadata"]["tags"] == ["hide-input"]
    assert reader_notebook("# a markdown page") == "# a markdown page"
    nb["cells"] = [{"cell_type": "code", "metadata": {}, "source": "exercises.solution('02.1')"}]
    out = json.loads(reader_notebook(json.dumps(nb)))
    assert out["cells"][0]["metadata"]["tags"] == ["remove-input"]


def test_city_page_title_does_not_repeat_the_name():
    from citybridge.book import page_title

    assert page_title("Santiago de Chile", "Santiago de Chile (Región Metropolitana)") == "Santiago de Chile"
    assert page_title("Hangzhou", "杭州") == "Hangzhou (杭州)"
    assert page_title("Cairns", None) == "Cairns"


def test_changed_stylesheet_reaches_the_rebuilt_book(tmp_path):
    from citybridge.book import _refresh_static

    src, dest = tmp_path / "book_static", tmp_path / "html_static"
    (src / "vendor").mkdir(parents=True)
    (src / "citybridge.css").write_text("new", encoding="utf-8")
    (src / "vendor" / "x.js").write_text("same", encoding="utf-8")
    (dest / "vendor").mkdir(parents=True)
    (dest / "citybridge.css").write_text("old", encoding="utf-8")
    (dest / "vendor" / "x.js").write_text("same", encoding="utf-8")
    (dest / "theme.css").write_text("theme", encoding="utf-8")
    _refresh_static(src, dest)
    assert (dest / "citybridge.css").read_text(encoding="utf-8") == "new"
    assert (dest / "theme.css").read_text(encoding="utf-8") == "theme"
