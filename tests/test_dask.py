"""``citybridge build --scheduler ADDRESS``: the book built on a Dask cluster
(a ``distributed.LocalCluster`` of two worker processes on 127.0.0.1) is the
same book as a serial build: the same pages, the same executed notebooks
(cell outputs compared apart from execution metadata and random element ids).

Runs on a small temporary project (two fixture cities, chapters 00 and 01
and the comparison notebook) to stay reasonably fast.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from citybridge.book import build
from citybridge.errors import CitybridgeError
from conftest import copy_project
from gtfs_fixtures import frequency_tables, timetable_tables, write_feed


def _distributed():
    """The ``distributed`` package, imported when a test runs (not when ``pytest -m unit``
    collects this file: importing it takes about half a second); the test is skipped without it."""
    return pytest.importorskip("distributed")

CHAPTERS = ("00_", "01_", "compare")
#: Random element ids: uuids, folium's 32-hex names, the charts' ``cb-`` + 12 hex ids.
_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}|cb-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    from citybridge.newcity import new_city

    _distributed()
    base = tmp_path_factory.mktemp("dask")
    root = copy_project(base / "serial")
    for slug in ("santiago", "hangzhou"):
        shutil.rmtree(root / "data" / "cities" / slug)
    for nb in (root / "notebooks").glob("*.ipynb"):
        if not nb.name.startswith(CHAPTERS):
            nb.unlink()
    cities = root / "data" / "cities"
    new_city("alpha", write_feed(base / "alpha.zip", timetable_tables()), root=cities)
    beta = frequency_tables()
    beta["agency.txt"] = beta["agency.txt"].replace("Test Transit", "Beta Transit")  # another city name
    new_city("beta", write_feed(base / "beta.zip", beta), root=cities)
    other = base / "dask"
    shutil.copytree(root, other)
    return root, other


def _outputs(nb_path: Path) -> list:
    """Cell sources and outputs without execution metadata or random ids."""
    nb = nbformat.read(nb_path, as_version=4)
    cells = []
    for c in nb.cells:
        outs = []
        for o in c.get("outputs", []):
            o = dict(o)
            o.pop("execution_count", None)
            o.pop("metadata", None)
            outs.append(_IDS.sub("<id>", json.dumps(o, sort_keys=True)))
        cells.append((c.cell_type, c.source, outs))
    return cells


def test_dask_build_equals_serial_build(projects):
    distributed = _distributed()
    serial_root, dask_root = projects
    serial, s_index = build(serial_root, use_cache=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        dask, d_index = build(dask_root, scheduler=cluster.scheduler_address, use_cache=False)
    for report in (serial, dask):
        assert not report.city_errors and not report.failures, [(r.job.label, r.error) for r in report.failures]
        assert not any(r.cached for r in report.results)
    assert [r.job.label for r in dask.results] == [r.job.label for r in serial.results]
    assert len(serial.results) == 5

    def pages(index: Path) -> set[str]:
        return {str(p.relative_to(index.parent)) for p in index.parent.rglob("*.html")
                if "_static" not in p.parts}

    assert pages(d_index) == pages(s_index)
    assert "cities/beta/01_network.html" in pages(d_index)
    for r in serial.results:
        a = Path(r.job.output)
        b = dask_root / a.relative_to(serial_root)
        assert _outputs(a) == _outputs(b), a.name


def test_unreachable_scheduler_is_a_clear_error(projects):
    _, root = projects
    with pytest.raises(CitybridgeError, match="could not reach the Dask scheduler at tcp://127.0.0.1:9"):
        build(root, scheduler="tcp://127.0.0.1:9", use_cache=False, html_out=False)
