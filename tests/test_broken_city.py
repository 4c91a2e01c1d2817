"""One bad city never harms another (issue 13, class 1).

The book is built with three broken cities beside Hangzhou (Santiago is
left out: it is slow and adds nothing here): a ``city.yml`` nested 3,000
levels deep (it used to abort the whole build with a RecursionError), a
bike-share feed whose capacity is text (it used to fail the other cities'
chapters through their side-by-side tables) and a CRS in degrees (every
distance would be nonsense: only its data check is built). Hangzhou must
complete every chapter, its side-by-side tables must say which cities are
left out and why, and the broken cities must be named on the build report
with their reason. HTML is not built (the report page is written before
Sphinx runs).
"""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import copy_project
from gtfs_fixtures import timetable_tables, write_feed

SAMPLES = ("hangzhou",)


@pytest.fixture(scope="module")
def broken_build(tmp_path_factory):
    from citybridge.book import build

    root = copy_project(tmp_path_factory.mktemp("broken") / "project")
    croot = root / "data" / "cities"
    shutil.rmtree(croot / "santiago")
    deep = croot / "deepnest"
    deep.mkdir()
    write_feed(deep / "gtfs.zip", timetable_tables())
    (deep / "city.yml").write_text("name: Deep\ncrs: EPSG:32719\nnotes: " + "[" * 3000 + "]" * 3000 + "\n",
                                   encoding="utf-8")
    bikes = croot / "crazybikes"
    (bikes / "gbfs").mkdir(parents=True)
    write_feed(bikes / "gtfs.zip", timetable_tables())
    (bikes / "city.yml").write_text("name: Crazy Bikes\ncrs: EPSG:32719\ngbfs: gbfs\n", encoding="utf-8")
    (bikes / "gbfs" / "station_information.json").write_text(json.dumps({"data": {"stations": [
        {"station_id": "b1", "name": "Uno", "lat": -33.45, "lon": -70.70, "capacity": "many"}]}}),
        encoding="utf-8")
    degrees = croot / "degrees"
    degrees.mkdir()
    write_feed(degrees / "gtfs.zip", timetable_tables())
    (degrees / "city.yml").write_text("name: Degrees\ncrs: EPSG:4326\n", encoding="utf-8")
    report, _ = build(root, html_out=False)
    text = (root / "book" / "build-report.md").read_text(encoding="utf-8")
    yield report, text, root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("slug", SAMPLES)
def test_sample_cities_complete(broken_build, slug):
    report, _, root = broken_build
    mine = [r for r in report.results if r.job.city == slug]
    n_chapters = len(list((root / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    assert len(mine) == n_chapters
    assert [(r.job.label, r.error) for r in mine if not r.ok] == []
    assert slug not in report.city_errors


def test_comparison_completes_without_the_broken_cities(broken_build):
    report, _, _ = broken_build
    comp = [r for r in report.results if r.job.city is None]
    assert comp and all(r.ok for r in comp), [(r.job.label, r.error) for r in comp]
    # crazybikes broke its own chapter 06 only: its KPI board (chapter 07) says which theme could not be
    # computed, so it stays in the comparison; deepnest (unreadable) and degrees (chapter 00 only) do not
    assert all(r.job.parameters["cities"] == ",".join(sorted([*SAMPLES, "crazybikes"])) for r in comp)


def test_broken_cities_are_on_the_build_report(broken_build):
    report, text, _ = broken_build
    assert "nested more than 20 levels deep" in report.city_errors["deepnest"]
    assert "is geographic: distances would come out in degrees" in report.city_errors["degrees"]
    assert [r.job.notebook.rsplit("/", 1)[-1] for r in report.results if r.job.city == "degrees"] == \
        ["00_data_check.ipynb"]
    bike_failures = [r for r in report.failures if r.job.city == "crazybikes"]
    assert bike_failures and all("not a number of docks" in r.error for r in bike_failures)
    for fragment in ("### deepnest", "### degrees", "crazybikes: 06_multimodal", "nested more than 20 levels deep"):
        assert fragment in text
    assert "Traceback" not in text


def test_side_by_side_tables_show_the_readable_cities_and_say_which_are_left_out(broken_build):
    import nbformat

    _, _, root = broken_build
    page = nbformat.read(root / "book" / "cities" / "hangzhou" / "02_service.ipynb", as_version=4)
    side = [o for c in page.cells for o in c.get("outputs", [])
            if "side_by_side" in (o.get("metadata") or {}).get("citybridge", {})]
    assert len(side) == 1
    text = side[0]["data"]["text/plain"]
    assert "Hangzhou" in text and "Crazy Bikes" in text  # a broken bike feed costs its theme only
    sentence = text.strip().splitlines()[-1]
    assert sentence.startswith("Not shown side by side: deepnest: its city.yml cannot be read")
    assert "Degrees: no KPI board has been computed for its current data" in sentence
