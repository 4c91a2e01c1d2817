"""Shared fixtures: a copy of the project built once per test session."""
from __future__ import annotations

import gc
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[1]

# Every build of the test session shares one store of per-city artefacts (prepared service days,
# KPI boards): they are keyed by the content of each city's files, so sharing them is safe, and
# Santiago's real network is then prepared once per session instead of once per test build.
os.environ.setdefault("CITYBRIDGE_CACHE", str(ROOT / ".citybridge-cache"))
SCREENSHOTS = ROOT / "screenshots"


#: Test files that build the book or open it in a browser; every other test file is ``unit``.
_BOOK_FILES = {"test_book.py", "test_i18n_pages.py", "test_cache.py", "test_dask.py", "test_interrupted_build.py", "test_page_weight.py",
               "test_hostile.py", "test_broken_city.py"}
_BROWSER_FILES = {"test_browser.py"}
#: Test files that execute chapter notebooks (without building a book).
_NOTEBOOK_FILES = {"test_realshaped.py"}


def pytest_configure(config):
    """No cyclic garbage collection while the test modules (pandas, geopandas, gtfs-kit, dask…)
    are imported: each full collection would walk every object imported so far."""
    gc.disable()


def pytest_collection_finish(session):
    """After collection, keep the imported modules' objects out of every later collection
    (``gc.freeze``), and collect the youngest generation every 20,000 net allocations instead of
    700: the tests build large tables of Python objects (the sample build, the corpus), and with
    the defaults the collector walked them over and over, 5–7 s of a unit run (about 2 s after)."""
    gc.enable()
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark each test ``unit``, ``notebook``, ``book`` or ``browser`` unless it says itself."""
    for item in items:
        if any(item.get_closest_marker(m) is not None for m in ("unit", "notebook", "book", "browser")):
            continue
        name = Path(str(item.fspath)).name
        if name.endswith(".ipynb") or name in _NOTEBOOK_FILES:
            item.add_marker(pytest.mark.notebook)
        elif name in _BROWSER_FILES:
            item.add_marker(pytest.mark.browser)
        elif name in _BOOK_FILES:
            item.add_marker(pytest.mark.book)
        else:
            item.add_marker(pytest.mark.unit)


def copy_project(dest: Path) -> Path:
    """Copy what a build reads (notebooks, book sources, data) to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "notebooks", dest / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "data", dest / "data")
    shutil.copytree(ROOT / "book", dest / "book",
                    ignore=shutil.ignore_patterns("_build", "cities", "compare", "_toc.yml", "conf.py",
                                                  "build-report.md"))
    return dest


#: The committed cities (read-only in every test that shares their feeds and days).
CITIES = ROOT / "data" / "cities"
#: Santiago's analysis day: the workbook's default (feed.choose_date: the busiest weekday of the
#: first full week of DTPM V166, 2026-07-04…12-31, ties to the earliest), the day of the reference
#: figures, of the KPI board and of chapter 08's schedule.
SANTIAGO_DAY = "20260706"


@pytest.fixture(scope="session")
def city_feed():
    """``city_feed(slug)``: :func:`citybridge.feed.read_feed` of a committed city's GTFS in its
    ``source_datum``, read once per session. Shared between tests: treat it as read-only."""
    from citybridge.city import load_city
    from citybridge.feed import read_feed

    feeds = {}

    def get(slug: str):
        if slug not in feeds:
            city = load_city(CITIES / slug, check_files=False)
            feeds[slug] = read_feed(city.gtfs_path, datum=city.profile.source_datum)
        return feeds[slug]

    return get


@pytest.fixture(scope="session")
def santiago_day():
    """Santiago's default analysis day (:data:`SANTIAGO_DAY`) through the package's cached path,
    :func:`citybridge.feed.feed_day`, as the notebooks and ``kpi_table`` get it (the same object
    for the rest of the session): streamed by :func:`citybridge.feed.read_day` in the city's datum
    and CRS on a cold cache, else the day read_day stored for this very package source (the
    artefact key covers the feed's bytes and every file of the package). 68,479 trips, about 3.75
    million stop events. Read-only."""
    from citybridge.city import load_city
    from citybridge.feed import feed_day

    return feed_day(load_city(CITIES / "santiago"))


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The sample cities built into a temporary copy of the project (strict)."""
    from citybridge.book import build

    root = copy_project(tmp_path_factory.mktemp("project"))
    report, index = build(root, strict=True)
    return root, report, index
