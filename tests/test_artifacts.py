"""Stored per-city results (citybridge.artifacts.stored): reused while nothing changes,
computed again when a parameter or a file of the city changes."""
from __future__ import annotations

from pathlib import Path

import pytest

from citybridge.artifacts import artifact_path, stored
from citybridge.city import load_city
from gtfs_fixtures import timetable_tables, write_feed


@pytest.fixture()
def city(tmp_path):
    folder = tmp_path / "cities" / "alpha"
    folder.mkdir(parents=True)
    (folder / "city.yml").write_text("name: Alpha\ncrs: EPSG:32719\ntimezone: America/Santiago\n",
                                     encoding="utf-8")
    write_feed(folder / "gtfs.zip", timetable_tables())
    return load_city("alpha", root=tmp_path / "cities")


class Counter:
    """A computation that counts its runs and returns its parameter."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, value):
        self.runs += 1
        return {"value": value, "run": self.runs}


def test_a_stored_result_is_read_back_until_a_parameter_changes(city, tmp_path):
    cache, calc = tmp_path / "cache", Counter()
    first = stored(city, "probe", lambda: calc(50), params={"radius_m": 50}, folder=cache)
    again = stored(city, "probe", lambda: calc(50), params={"radius_m": 50}, folder=cache)
    assert (first, again, calc.runs) == ({"value": 50, "run": 1}, {"value": 50, "run": 1}, 1)
    other = stored(city, "probe", lambda: calc(80), params={"radius_m": 80}, folder=cache)
    assert (other, calc.runs) == ({"value": 80, "run": 2}, 2)
    # the other parameters' result replaced the default's: the default is computed again
    back = stored(city, "probe", lambda: calc(50), params={"radius_m": 50}, folder=cache)
    assert (back, calc.runs) == ({"value": 50, "run": 3}, 3)
    assert [p.name.startswith("probe-alpha-default-") for p in cache.iterdir()] == [True]


def test_a_changed_city_file_computes_again(city, tmp_path):
    cache, calc = tmp_path / "cache", Counter()
    before = artifact_path(city, "probe", params={"radius_m": 50}, folder=cache)
    stored(city, "probe", lambda: calc(50), params={"radius_m": 50}, folder=cache)
    (city.folder / "population.csv").write_text("district_id,population\n1,100\n", encoding="utf-8")
    after = artifact_path(city, "probe", params={"radius_m": 50}, folder=cache)
    assert before != after
    assert stored(city, "probe", lambda: calc(50), params={"radius_m": 50}, folder=cache)["run"] == 2
    assert calc.runs == 2


def test_a_damaged_stored_result_is_computed_again(city, tmp_path):
    cache, calc = tmp_path / "cache", Counter()
    stored(city, "probe", lambda: calc(1), folder=cache)
    path: Path = artifact_path(city, "probe", folder=cache)
    path.write_bytes(b"not a pickle")
    assert stored(city, "probe", lambda: calc(1), folder=cache) == {"value": 1, "run": 2}


def test_the_date_is_part_of_the_key(city, tmp_path):
    cache = tmp_path / "cache"
    assert artifact_path(city, "probe", date="20260706", folder=cache) != artifact_path(city, "probe", folder=cache)
    assert artifact_path(city, "probe", date="20260706", folder=cache).name.startswith("probe-alpha-20260706-")
