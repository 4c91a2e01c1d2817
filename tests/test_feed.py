"""Unit tests of citybridge.feed on hand-made GTFS fixtures."""
from __future__ import annotations

import hashlib
import zipfile

import pandas as pd
import pytest

from citybridge import feed as F
from citybridge.errors import FeedError
from gtfs_fixtures import (calendar_dates_only_tables, frequency_tables, timetable_tables,
                           timetable_twin_of_frequency, write_feed)


def _day(tmp_path, tables, date=None, name="f.zip"):
    return F.prepare_day(F.read_feed(write_feed(tmp_path / name, tables)), date, crs="EPSG:32719")


def test_times_past_midnight_are_kept_as_seconds():
    s = pd.Series(["07:00:00", "24:50:00", "25:01:30", "", " 5:02:03"])
    out = F.times_to_seconds(s)
    assert out.iloc[0] == 7 * 3600
    assert out.iloc[1] == 24 * 3600 + 50 * 60
    assert out.iloc[2] == 25 * 3600 + 90
    assert pd.isna(out.iloc[3])
    assert out.iloc[4] == 5 * 3600 + 123


def test_timetable_day_has_all_weekday_trips(tmp_path):
    day = _day(tmp_path, timetable_tables(), "20260107")
    assert sorted(day.trips["trip_id"]) == ["MT1", "T1", "T2", "T3", "TN"]
    late = day.trips.set_index("trip_id").loc["TN"]
    assert late["start_s"] == 24 * 3600 + 50 * 60
    assert late["end_s"] == 24 * 3600 + 68 * 60
    assert set(day.trips["mode"]) == {"bus", "metro"}
    assert len(day.stop_times) == 20


def test_sunday_has_no_weekday_trips(tmp_path):
    with pytest.raises(FeedError, match="no trips run on 20260111"):
        _day(tmp_path, timetable_tables(), "20260111")


def test_frequency_feed_expands_to_its_timetable_twin(tmp_path):
    freq = _day(tmp_path, frequency_tables(), "20260107", "freq.zip")
    twin = _day(tmp_path, timetable_twin_of_frequency(), "20260107", "twin.zip")
    assert freq.is_frequency_based and not twin.is_frequency_based
    assert len(freq.trips) == 3
    cols = ["stop_id", "stop_sequence", "arrival_s", "departure_s"]
    a = freq.stop_times.sort_values(["arrival_s", "stop_sequence"])[cols].reset_index(drop=True)
    b = twin.stop_times.sort_values(["arrival_s", "stop_sequence"])[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert sorted(freq.trips["start_s"]) == [25200, 25800, 26400]
    assert set(freq.trips["template_id"]) == {"F1"}


def test_calendar_dates_only_feed(tmp_path):
    feed = F.read_feed(write_feed(tmp_path / "cd.zip", calendar_dates_only_tables()))
    assert F.active_services(feed, "20260108") == {"D1", "D2"}
    assert F.active_services(feed, "20260109") == set()
    # the first full week is 2026-01-12..18 only if the range allows; here the feed
    # spans 06..10 January, shorter than a week, so the busiest weekday wins
    assert F.choose_date(feed) == "20260108"
    day = F.prepare_day(feed, None, crs="EPSG:32719")
    assert day.date == "20260108"
    assert sorted(day.trips["trip_id"]) == ["T1", "T2", "T3"]


def test_calendar_dates_remove_a_service(tmp_path):
    t = timetable_tables()
    t["calendar_dates.txt"] = "service_id,date,exception_type\nWK,20260107,2\nSU,20260107,1\n"
    feed = F.read_feed(write_feed(tmp_path / "h.zip", t))
    assert F.active_services(feed, "20260107") == {"SU"}
    assert F.active_services(feed, "20260108") == {"WK"}


def test_choose_date_uses_busiest_weekday_of_first_full_week(tmp_path):
    t = timetable_tables()
    # an extra service on Thursdays only makes Thursday the busiest weekday
    t["calendar.txt"] += "TH,0,0,0,1,0,0,0,20260105,20260201\n"
    t["trips.txt"] += "B1,TH,TX,0\n"
    t["stop_times.txt"] += "TX,09:00:00,09:00:00,S1,1\nTX,09:06:00,09:06:00,S2,2\n"
    feed = F.read_feed(write_feed(tmp_path / "c.zip", t))
    assert F.choose_date(feed) == "20260108"


def test_frequency_trips_count_when_choosing_date(tmp_path):
    feed = F.read_feed(write_feed(tmp_path / "f.zip", frequency_tables()))
    counts = F.trips_by_date(feed, [pd.Timestamp("2026-01-07").date()])
    assert counts.iloc[0] == 3


def test_blank_intermediate_times_are_interpolated(tmp_path):
    t = timetable_tables()
    t["stop_times.txt"] = t["stop_times.txt"].replace("T1,07:06:00,07:06:00", "T1,,").replace(
        "T1,07:12:00,07:12:00", "T1,,")
    day = _day(tmp_path, t, "20260107")
    t1 = day.stop_times[day.stop_times["trip_id"] == "T1"].sort_values("stop_sequence")
    assert list(t1["departure_s"]) == [25200, 25560, 25920, 26280]
    assert any("interpolated" in n for n in day.notes)


def test_bom_latin1_and_whitespace(tmp_path):
    t = timetable_tables()
    stops = t["stops.txt"].replace("Uno", "Ñuñoa Estación").replace("stop_id,stop_name", "stop_id , stop_name")
    tables = {k: v.encode("utf-8") for k, v in t.items()}
    tables["stops.txt"] = stops.encode("cp1252")
    tables["routes.txt"] = b"\xef\xbb\xbf" + t["routes.txt"].encode("utf-8")
    p = tmp_path / "enc.zip"
    with zipfile.ZipFile(p, "w") as zf:
        for k, v in tables.items():
            zf.writestr(k, v)
    feed = F.read_feed(p)
    assert "Ñuñoa Estación" in set(feed.stops["stop_name"])
    assert "route_id" in feed.routes.columns
    assert any("cp1252" in n for n in feed.notes)


def test_zip_slip_is_refused(tmp_path):
    t = timetable_tables()
    t["../evil.txt"] = "x\n"
    p = write_feed(tmp_path / "slip.zip", t)
    with pytest.raises(FeedError, match="outside the archive"):
        F.read_feed(p)


def test_zip_bomb_is_refused(tmp_path):
    t = timetable_tables()
    p = tmp_path / "bomb.zip"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for k, v in t.items():
            zf.writestr(k, v)
        zf.writestr("shapes.txt", "0" * (50 * 1024 * 1024))
    with pytest.raises(FeedError, match="zip bomb"):
        F.read_feed(p)


def test_swapped_coordinates_are_refused(tmp_path):
    t = timetable_tables()
    t["stops.txt"] = t["stops.txt"].replace("-33.45,-70.70", "-70.70,-33.45")
    with pytest.raises(FeedError, match=r"stops.txt, column 'stop_lat', row 1.*swapped"):
        F.read_feed(write_feed(tmp_path / "sw.zip", t))


def test_missing_required_file(tmp_path):
    t = timetable_tables()
    del t["stop_times.txt"]
    with pytest.raises(FeedError, match="stop_times.txt"):
        F.read_feed(write_feed(tmp_path / "m.zip", t))


def test_gcj02_is_converted_to_wgs84(tmp_path):
    # Hangzhou East station, GCJ-02 -> WGS-84 shifts by roughly 500 m
    t = timetable_tables()
    t["stops.txt"] = ("stop_id,stop_name,stop_lat,stop_lon\n"
                      "S1,a,30.2905,120.2130\nS2,b,30.2950,120.2200\nS3,c,30.30,120.23\nS4,d,30.31,120.24\n")
    feed = F.read_feed(write_feed(tmp_path / "g.zip", t), datum="GCJ02")
    lat, lon = feed.stops.iloc[0][["stop_lat", "stop_lon"]]
    import prcoords
    back = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
    assert abs(back.lat - 30.2905) < 1e-5 and abs(back.lon - 120.2130) < 1e-5
    assert 0.002 < abs(lon - 120.2130) < 0.01


def test_input_file_is_not_modified(tmp_path):
    p = write_feed(tmp_path / "x.zip", timetable_tables())
    before = hashlib.sha256(p.read_bytes()).hexdigest()
    F.prepare_day(F.read_feed(p), "20260107")
    assert hashlib.sha256(p.read_bytes()).hexdigest() == before


def test_mode_of_basic_and_extended_types():
    s = pd.Series([0, 1, 2, 3, 4, 700, 1200, 401, 109, 99])
    assert list(F.mode_of(s)) == ["tram", "metro", "rail", "bus", "ferry", "bus", "ferry",
                                  "metro", "rail", "other"]


def test_city_day_is_stored_as_codes_and_loaded_again(tmp_path, monkeypatch):
    """feed_day stores the columnar day (no text stop-times table) and a new
    process gets the same day back from disk, pointing at the city's feed."""
    import pickle
    import shutil

    import numpy as np

    from citybridge import artifacts
    from citybridge.city import load_city
    from citybridge.feed import day as D
    from conftest import ROOT

    monkeypatch.setenv("CITYBRIDGE_CACHE", str(tmp_path / "cache"))
    shutil.copytree(ROOT / "data" / "cities" / "hangzhou", tmp_path / "cities" / "hangzhou")
    city = load_city("hangzhou", root=tmp_path / "cities")
    monkeypatch.setattr(D, "_DAY_CACHE", {})
    first = F.feed_day(city)
    first.stop_times  # built on use, never stored
    stored = list((tmp_path / "cache" / "artifacts").glob("day-hangzhou-*"))
    assert len(stored) == 1
    with stored[0].open("rb") as f:
        raw = pickle.load(f)
    assert "stop_times" not in raw._cache and raw.feed.stop_times.empty
    monkeypatch.setattr(D, "_DAY_CACHE", {})
    again = F.feed_day(city)
    assert again is not first and artifacts.load_day(city, None) is not None
    for name in ("trip", "stop", "seq", "arr", "dep", "stop_ids"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    pd.testing.assert_frame_equal(again.trips, first.trips)
    pd.testing.assert_frame_equal(again.stop_times, first.stop_times)
    assert again.feed.source_path == city.gtfs_path
