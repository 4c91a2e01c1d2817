"""After `citybridge fetch`, the book's computations use the fetched feed (not a stale copy)."""
from __future__ import annotations

import hashlib

import pytest

from citybridge.artifacts import kpi_board
from citybridge.city import load_city
from citybridge.feed import feed_day
from citybridge.fetch import fetch_city
from gtfs_fixtures import frequency_tables, timetable_tables, write_feed
from test_fetch import server  # noqa: F401 - the 127.0.0.1 server fixture

pytestmark = pytest.mark.unit


def test_fetched_feed_is_the_one_used(tmp_path, server, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CITYBRIDGE_CACHE", str(tmp_path / "cache"))
    base, routes = server
    city = tmp_path / "cities" / "testville"
    city.mkdir(parents=True)
    write_feed(city / "gtfs.zip", timetable_tables())
    new = write_feed(tmp_path / "new.zip", frequency_tables()).read_bytes()
    routes["/feed.zip"] = (200, {"Content-Type": "application/zip"}, new)
    (city / "city.yml").write_text(
        f"name: Testville\ncrs: EPSG:32719\ndownload:\n  url: {base}/feed.zip\n"
        f"  sha256: '{hashlib.sha256(new).hexdigest()}'\n", encoding="utf-8")

    before = load_city(city)
    trips_before = len(feed_day(before).trips)
    board_before = kpi_board(before)

    fetch_city(str(city))
    after = load_city(city)
    day = feed_day(after)
    assert after.gtfs_path.read_bytes() == new
    assert day.is_frequency_based and len(day.trips) != trips_before
    board_after = kpi_board(after)
    trips = board_after.set_index("kpi").loc["trips per day", "value"]
    assert trips == len(day.trips) != board_before.set_index("kpi").loc["trips per day", "value"]


def test_a_reconstructed_city_becomes_official_once_the_official_feed_is_fetched(tmp_path, server):  # noqa: F811
    base, routes = server
    city = tmp_path / "cities" / "rebuilt"
    city.mkdir(parents=True)
    write_feed(city / "gtfs.zip", timetable_tables())
    official = write_feed(tmp_path / "official.zip", frequency_tables()).read_bytes()
    routes["/official.zip"] = (200, {"Content-Type": "application/zip"}, official)
    (city / "city.yml").write_text(
        f"name: Rebuilt\ncrs: EPSG:32719\ndata_status: reconstructed\ndownload:\n  url: {base}/official.zip\n"
        f"  sha256: '{hashlib.sha256(official).hexdigest()}'\n", encoding="utf-8")
    assert load_city(city).status == "reconstructed"
    fetch_city(str(city))
    assert load_city(city).status == "official"
