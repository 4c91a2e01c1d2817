"""The notebook session and the per-city rebuild, without kernels.

Side-by-side tables read only the other cities' stored KPI boards (never
their feeds) and leave out, with one sentence, a city without one; the build
draws them again from the current boards; a city chapter's cache key covers
only its own city (and the profile values it declares it reads), the
comparison every city.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from citybridge.artifacts import board_path
from citybridge.city import load_city
from citybridge.pipeline import BoardResult, Job, plan
from citybridge.runner import without_failed_cities
from citybridge.session import Session, refresh_pages
from gtfs_fixtures import timetable_tables, write_feed

PROFILE = "name: {name}\ncrs: EPSG:32719\ntimezone: America/Santiago\n"
GRID = ("parameters:\n  grid_kgco2_per_kwh: {{value: {grid}, unit: kgCO2/kWh, year: '2024', source: test, "
        "solid: true}}\n")


def _city(croot: Path, slug: str, name: str, extra: str = "") -> None:
    (croot / slug).mkdir(parents=True, exist_ok=True)
    (croot / slug / "city.yml").write_text(PROFILE.format(name=name) + extra, encoding="utf-8")
    write_feed(croot / slug / "gtfs.zip", timetable_tables())


def _board(trips: float, peak: float, status: str = "official") -> pd.DataFrame:
    return pd.DataFrame({"theme": ["service", "service", "access"],
                         "kpi": ["trips per day", "peak vehicles in service", "SDG 11.2.1 coverage (city)"],
                         "value": [trips, peak, 50.0], "unit": ["trips", "vehicles", "% of population"],
                         "definition": ["d1", "d2", "d3"], "source": ["s"] * 3, "status": [status] * 3})


def _store(croot: Path, slug: str, board: pd.DataFrame, cache: Path) -> None:
    path = board_path(load_city(slug, root=croot), folder=cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    board.to_parquet(path, index=False)


@pytest.fixture()
def cities(tmp_path, monkeypatch):
    """alpha and beta with stored boards, gamma without; no feed may be read."""
    croot, cache = tmp_path / "cities", tmp_path / "artifacts"
    _city(croot, "alpha", "Alpha")
    _city(croot, "beta", "Beta")
    _city(croot, "gamma", "Gamma")
    _store(croot, "alpha", _board(5, 2), cache)
    _store(croot, "beta", _board(12, 3), cache)

    def no_feed(*a, **k):
        raise AssertionError("a side-by-side table opened a feed")

    monkeypatch.setattr("citybridge.feed.feed_day", no_feed)
    monkeypatch.setattr("citybridge.kpi.kpi_table", no_feed)
    return croot, cache


def test_side_by_side_reads_stored_boards_and_says_which_city_is_left_out(cities):
    croot, cache = cities
    s = Session.open("beta", croot, cache=cache)
    assert [c.slug for c in s.others()] == ["alpha"]
    data, meta = s.side_by_side("service", caption="Service KPIs side by side", source="each city's feed").bundle()
    text = data["text/plain"]
    # own city first, then the others in slug order; the access row is not in the service theme
    assert text.index("Beta") < text.index("Alpha")
    assert "12" in text and "5" in text and "SDG" not in text
    assert text.strip().endswith("Not shown side by side: Gamma: no KPI board has been computed for its current "
                                 "data ('citybridge build' computes it).")
    assert meta == {"citybridge": {"side_by_side": {"city": "beta", "theme": "service",
                                                    "caption": "Service KPIs side by side",
                                                    "source": "each city's feed", "float_format": "{:,.1f}"}}}


def test_a_broken_board_or_profile_leaves_the_city_out_with_its_reason(cities):
    croot, cache = cities
    board_path(load_city("alpha", root=croot), folder=cache).write_bytes(b"not parquet")
    (croot / "gamma" / "city.yml").write_text("name: [unclosed\n", encoding="utf-8")
    text = Session.open("beta", croot, cache=cache).side_by_side("service", caption="c", source="s").text
    assert "Alpha: its stored KPI board cannot be read" in text
    assert "gamma: its city.yml cannot be read" in text
    assert "12" in text  # the city's own figures still show


def test_compare_sessions_keep_the_order_asked_and_name_those_left_out(cities):
    croot, cache = cities
    all_ = Session.all("gamma,beta,alpha", croot, cache=cache)
    assert [s.city.slug for s in all_] == ["beta", "alpha"]
    assert [b.slug for b in all_.left_out] == ["gamma"]
    assert [(c.slug, b.loc[0, "value"]) for c, b in all_.boards()] == [("beta", 12.0), ("alpha", 5.0)]
    assert all_.note().text.startswith("Not compared: Gamma: no KPI board")


def _page(path: Path, outputs: list) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("session.side_by_side(...)")
    cell.outputs = outputs
    nb.cells = [nbformat.v4.new_markdown_cell("# page"), cell]
    nbformat.write(nb, path)


def test_refresh_redraws_side_by_side_outputs_from_the_current_boards(cities, tmp_path):
    croot, cache = cities
    s = Session.open("beta", croot, cache=cache)
    data, meta = s.side_by_side("service", caption="c", source="s").bundle()
    note, note_meta = s.sample_note().bundle()
    outputs = [nbformat.v4.new_output("execute_result", data, execution_count=1, metadata=meta),
               nbformat.v4.new_output("display_data", note, metadata=note_meta)]
    page, cached = tmp_path / "02_x.ipynb", tmp_path / "key.ipynb"
    _page(page, outputs)
    cached.write_bytes(page.read_bytes())
    # nothing changed: nothing is written
    before = page.stat().st_mtime_ns
    assert refresh_pages([(page, cached)], croot, folder=cache) == []
    assert page.stat().st_mtime_ns == before
    # alpha's data change (a new board for its new files), gamma gets a board, illustrative
    with open(croot / "alpha" / "city.yml", "a", encoding="utf-8") as f:
        f.write("notes: changed\n")
    _store(croot, "alpha", _board(7, 2), cache)
    (croot / "gamma" / "city.yml").write_text(PROFILE.format(name="Gamma") + "data_status: illustrative\n",
                                              encoding="utf-8")
    _store(croot, "gamma", _board(30, 9, status="illustrative"), cache)
    assert refresh_pages([(page, cached)], croot, folder=cache) == [page]
    assert page.read_bytes() == cached.read_bytes()  # the next build reuses the page as it is now
    got = nbformat.read(page, as_version=4).cells[1].outputs
    table = got[0]["data"]["text/plain"]
    assert "Not shown" not in table
    rows = {ln.split()[0] + " " + ln.split()[1]: ln.split()[-3:] for ln in table.splitlines()[1:]}
    assert rows["trips per"] == ["12", "7", "30"]  # beta, alpha, gamma
    assert got[1]["data"]["text/plain"].startswith("Not comparable: sample data for Gamma.")
    assert dict(got[0]["metadata"]) == meta
    assert refresh_pages([(page, cached)], croot, folder=cache) == []


def _notebook(path: Path, meta: dict | None = None) -> None:
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell('city = "x"\ncities_root = ""')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell("1 + 1")]
    if meta:
        nb.metadata["citybridge"] = meta
    nbformat.write(nb, path)


def test_a_city_chapter_key_covers_its_own_city_and_the_profile_values_it_declares(tmp_path):
    croot = tmp_path / "data" / "cities"
    _city(croot, "alpha", "Alpha", GRID.format(grid=0.3))
    _city(croot, "beta", "Beta", GRID.format(grid=0.5))
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "02_side.ipynb", {"boards": "all"})
    _notebook(nbs / "05_grid.ipynb", {"boards": "all", "profiles": ["parameters.grid_kgco2_per_kwh"]})
    _notebook(nbs / "compare.ipynb")

    def keys():
        jobs, errors = plan(tmp_path)
        assert not errors
        return {j.label: j.key for j in jobs}

    def changed(before, after):
        return {k for k in before if before[k] != after[k]}

    k0 = keys()
    assert set(k0) == {"alpha: 02_side", "beta: 02_side", "alpha: 05_grid", "beta: 05_grid", "all cities: compare"}
    write_feed(croot / "beta" / "gtfs.zip", {**timetable_tables(), "feed_info.txt": "feed_publisher_name\nX\n"})
    k1 = keys()
    assert changed(k0, k1) == {"beta: 02_side", "beta: 05_grid", "all cities: compare"}
    # beta's grid factor is read by alpha's chapter 05 (its scenario chart), and by nothing else of alpha
    text = (croot / "beta" / "city.yml").read_text(encoding="utf-8")
    (croot / "beta" / "city.yml").write_text(text.replace("0.5", "0.45"), encoding="utf-8")
    assert changed(k1, keys()) == {"beta: 02_side", "beta: 05_grid", "alpha: 05_grid", "all cities: compare"}


def test_the_comparison_leaves_out_cities_whose_board_failed():
    job = Job("compare.ipynb", "out.ipynb", {"cities": "alpha,beta,gamma"}, None, "k")
    keep, skipped = without_failed_cities([job], [BoardResult("alpha", True, 1.0),
                                                 BoardResult("beta", False, 1.0, error="boom")])
    assert [j.parameters["cities"] for j in keep] == ["alpha,gamma"] and not skipped
    assert keep[0].key != "k"
    keep, skipped = without_failed_cities([Job("compare.ipynb", "o", {"cities": "beta"}, None, "k")],
                                          [BoardResult("beta", False, 1.0, error="boom")])
    assert keep == [] and "no city has a KPI board" in skipped[0].error


def test_every_chapter_uses_the_session_and_sets_no_environment_variable():
    root = Path(__file__).resolve().parents[1] / "notebooks"
    for path in sorted(root.glob("*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                         if c["cell_type"] == "code")
        assert "Session." in code, path.name
        for banned in ("os.environ", "CITIES_ENV", "other_cities(", "list_cities(", "feed_day("):
            assert banned not in code, (path.name, banned)
