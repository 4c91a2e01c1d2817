"""One service day, one engine: ``read_day(path)`` (streamed stop times) and
``prepare_day(read_feed(path))`` (the feed read first) give the same day, the
notebook functions and ``citybridge indicators`` the same tables; clear
errors; files written.

Speed is measured by ``make bench``, never here.
"""
from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citybridge import feed, service, speed
from citybridge import indicators as I
from citybridge.city import DEFAULT_PERIODS
from citybridge.cli import main
from citybridge.errors import CitybridgeError, FeedError
from conftest import ROOT, SANTIAGO_DAY
from gtfs_fixtures import (AGENCY, CALENDAR, ROUTES, STOPS, calendar_dates_only_tables, frequency_tables,
                           timetable_tables, write_feed)

PERIODS = {"am": ("07:00", "08:00"), "day": ("08:00", "20:00"), "late": ("24:00", "26:00")}


def notebook_tables(day, periods=None) -> dict[str, pd.DataFrame]:
    """What the notebooks compute for a day (service and speed functions)."""
    return {
        "trip_stats": service.trip_table(day, periods=periods).sort_values("trip_id", kind="stable"),
        "stop_stats": service.stop_stats(day, periods=periods),
        "route_stats": service.route_stats(day, periods=periods),
        "segment_stats": speed.segment_stats(speed.segment_speeds(day),
                                             periods=DEFAULT_PERIODS if periods is None else periods),
    }


def assert_same_day(a, b) -> None:
    """Two prepared days hold the same trips, stops and stop times."""
    assert (a.date, a.crs) == (b.date, b.crs)
    pd.testing.assert_frame_equal(a.trips, b.trips, obj="trips")
    pd.testing.assert_frame_equal(a.stops.reset_index(drop=True), b.stops.reset_index(drop=True), obj="stops")
    assert list(a.stop_ids) == list(b.stop_ids)
    for name in ("trip", "stop", "seq", "arr", "dep"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def assert_same(path: Path, date: str | None = None, periods=None, *, streamed=None,
                read=None) -> dict[str, pd.DataFrame]:
    """``read_day(path, date)`` equals ``prepare_day(read_feed(path), date)``, and the engine's
    tables of that day equal the notebook functions'. ``streamed`` (a day read_day gave for
    ``path``) and ``read`` (read_feed of ``path``) are used instead of reading again when given."""
    if streamed is None:
        streamed = I.read_day(path, date)
    assert_same_day(streamed, feed.prepare_day(feed.read_feed(path) if read is None else read, streamed.date))
    want = notebook_tables(streamed, periods)
    got = I.indicator_tables(streamed, periods=periods)
    assert list(got) == list(I.TABLES)
    for name in I.TABLES:
        pd.testing.assert_frame_equal(got[name].reset_index(drop=True), want[name].reset_index(drop=True),
                                      check_exact=False, rtol=1e-9, obj=name)
    return got


@pytest.mark.parametrize("city", ["hangzhou"])  # Santiago: test_santiago_with_city_periods
def test_sample_cities_equal_notebook_functions(city, city_feed):
    path = ROOT / "data" / "cities" / city / "gtfs.zip"
    streamed = I.read_day(path)  # on the workbook's default date (feed.choose_date)
    assert streamed.date == feed.choose_date(city_feed(city))
    got = assert_same(path, streamed=streamed, read=city_feed(city))
    assert len(got["trip_stats"]) > 1000 and len(got["segment_stats"]) > 1000


def test_santiago_with_city_periods(santiago_day, city_feed):
    """Santiago's real network on its default day (the session's read_day, through feed_day's cache)."""
    from citybridge.city import load_city

    c = load_city("santiago", root=ROOT / "data" / "cities")
    assert santiago_day.date == SANTIAGO_DAY == "20260706"  # a Monday of DTPM V166 (2026-07-04…12-31)
    assert_same(c.gtfs_path, periods=c.periods, streamed=santiago_day, read=city_feed("santiago"))


@pytest.mark.parametrize("tables", [timetable_tables, frequency_tables, calendar_dates_only_tables],
                         ids=["timetable", "frequencies", "calendar_dates"])
def test_fixture_feeds_equal_notebook_functions(tmp_path, tables):
    path = write_feed(tmp_path / "f.zip", tables())
    date = "20260108"
    assert_same(path, date)
    assert_same(path, date, PERIODS)


def _messy_tables() -> dict[str, str]:
    """Blank intermediate times, an untimed last stop, equal times at consecutive
    stops (zero run time), a stop without a position, white space, BOM, CRLF."""
    st = ["\ufefftrip_id, arrival_time ,departure_time,stop_id,stop_sequence"]
    rows = [("T1", "07:00:00", "07:00:00", "S1", 1), ("T1", "", "", "S2", 2), ("T1", "07:10:00", "07:10:00", "S3", 3),
            ("T1", "07:10:00", "07:11:00", "S4", 4),
            ("T2", " 07:30:00", "07:30:00 ", " S1", 10), ("T2", "07:36:00", "07:36:00", "S2 ", 20),
            ("T2", "07:36:00", "07:36:00", "S3", 30), ("T2", "", "", "S4", 40),
            ("T3", "25:01:00", "25:01:00", "S4", 1), ("T3", "25:04:00", "25:04:00", "SX", 2),
            ("T3", "25:09:00", "25:09:00", "S1", 3),
            ("T4", "7:5:00", "07:50:00", "S1", 1), ("T4", "07:58:00", "07:58:00", "S3", 2)]
    st += [f"{a},{b},{c},{d},{e}" for a, b, c, d, e in rows]
    trips = "route_id,service_id,trip_id,direction_id\nB1,WK,T1,0\nB1,WK,T2,1\nM1,WK,T3,\nB1,WK,T4,0\n"
    return {"agency.txt": AGENCY, "stops.txt": STOPS, "routes.txt": ROUTES, "trips.txt": trips,
            "stop_times.txt": "\r\n".join(st) + "\r\n", "calendar.txt": CALENDAR}


def test_messy_feed_equals_notebook_functions(tmp_path):
    path = write_feed(tmp_path / "messy.zip", _messy_tables())
    got = assert_same(path, "20260107", PERIODS)
    day = I.read_day(path, "20260107")
    assert any("interpolated" in n for n in day.notes)
    assert any("left out" in n for n in day.notes)
    assert any("not written H:MM:SS" in n for n in day.notes)
    # the stop without a position makes T3's distance unknown
    t3 = got["trip_stats"].set_index("trip_id").loc["T3"]
    assert pd.isna(t3["distance_km"])


def test_shape_dist_interpolation_and_folder_input(tmp_path):
    t = timetable_tables()
    lines = t["stop_times.txt"].strip().split("\n")
    out = [lines[0] + ",shape_dist_traveled"]
    for i, line in enumerate(lines[1:]):
        parts = line.split(",")
        seq = int(parts[4])
        if parts[0] == "T2" and seq == 2:
            parts[1] = parts[2] = ""
        out.append(",".join(parts) + f",{[0, 0.3, 2.0, 3.0][seq - 1]}")
    t["stop_times.txt"] = "\n".join(out) + "\n"
    folder = tmp_path / "feed"
    folder.mkdir()
    for name, text in t.items():
        (folder / name).write_text(text, encoding="utf-8")
    got = assert_same(folder, "20260106")
    assert len(got["trip_stats"]) == 5


def zip_encoded(path: Path, tables: dict[str, str], encoding: str) -> Path:
    """A feed zip at ``path`` whose files are written in ``encoding``."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in tables.items():
            zf.writestr(name, text.encode(encoding))
    return path


def test_latin1_and_ragged_files_fall_back_to_the_notebook_cleaning(tmp_path):
    t = timetable_tables()
    lines = t["stop_times.txt"].strip().split("\n")
    # an optional last column that only some rows fill in: pyarrow refuses the
    # short rows, the notebook path's pandas cleaning takes them
    lines[0] += ",pickup_type"
    lines[1] += ",0"
    t["stop_times.txt"] = "\n".join(lines) + "\n"
    t["stops.txt"] = t["stops.txt"].replace("Dos", "Dós")
    path = zip_encoded(tmp_path / "latin.zip", t, "cp1252")
    got = assert_same(path, "20260106")
    assert "Dós" in set(got["stop_stats"]["stop_name"])
    assert any("read as cp1252" in n for n in I.read_day(path, "20260106").notes)


def test_stop_times_not_utf8_are_read_as_their_encoding(tmp_path):
    # a regular stop_times.txt whose only trouble is its encoding: the fast reader takes its values
    # as bytes, finds a distinct value that is not UTF-8 and hands the file to the notebook cleaning
    t = {name: text.replace("S3", "S3é") for name, text in timetable_tables().items()}
    path = zip_encoded(tmp_path / "latin-st.zip", t, "cp1252")
    got = assert_same(path, "20260106")
    assert "S3é" in set(got["stop_stats"]["stop_id"])
    day = I.read_day(path, "20260106")
    assert "S3é" in set(day.stop_ids)
    assert any("stop_times.txt" in n and "read as cp1252" in n for n in day.notes)


def test_run_indicators_writes_every_table(tmp_path):
    path = write_feed(tmp_path / "f.zip", frequency_tables())
    for fmt in ("parquet", "csv"):
        out = tmp_path / f"out-{fmt}"
        paths = I.run_indicators(path, "20260106", out, fmt=fmt)
        assert [p.name for p in paths] == [f"{n}.{fmt}" for n in I.TABLES] + ["indicators.json"]
        meta = json.loads((out / "indicators.json").read_text(encoding="utf-8"))
        assert meta["date"] == "20260106" and meta["trips"] == 3 and meta["stop_times"] == 12
        assert meta["rows"]["trip_stats"] == 3
        back = pd.read_parquet(paths[0]) if fmt == "parquet" else pd.read_csv(paths[0])
        assert sorted(back["trip_id"]) == ["F1@07:00:00", "F1@07:10:00", "F1@07:20:00"]
        assert not list(out.glob(".*.tmp"))


def test_cli_indicators(tmp_path, capsys):
    path = write_feed(tmp_path / "f.zip", timetable_tables())
    assert main(["indicators", str(path), "--date", "20260106", "--out", str(tmp_path / "o"), "--format", "csv"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed[-1].endswith("indicators.json") and len(printed) == 5
    assert main(["indicators", str(path), "--date", "20260110", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no trips run on 20260110" in err and "Traceback" not in err


def test_gcj02_datum_is_converted(tmp_path):
    t = timetable_tables()
    t["stops.txt"] = t["stops.txt"].replace("-33.45", "30.25").replace("-70.", "120.")
    path = write_feed(tmp_path / "f.zip", t)
    a = I.read_day(path, "20260106", datum="GCJ02")
    b = feed.prepare_day(feed.read_feed(path, datum="GCJ02"), "20260106")
    pd.testing.assert_frame_equal(a.stops.reset_index(drop=True), b.stops.reset_index(drop=True))
    assert abs(a.stops["stop_lat"].iloc[0] - 30.25) > 1e-4  # moved by the conversion


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------

def test_bad_arguments(tmp_path):
    path = write_feed(tmp_path / "f.zip", timetable_tables())
    with pytest.raises(CitybridgeError, match="unknown format 'xlsx'"):
        I.run_indicators(path, "20260106", tmp_path / "o", fmt="xlsx")
    with pytest.raises(FeedError, match="date '2026-01-06' is not YYYYMMDD"):
        I.run_indicators(path, "2026-01-06", tmp_path / "o")
    with pytest.raises(FeedError, match=r"no trips run on 20250106 \(the feed covers 20260105–20260201\)"):
        I.run_indicators(path, "20250106", tmp_path / "o")
    with pytest.raises(FeedError, match="GTFS feed not found"):
        I.run_indicators(tmp_path / "nope.zip", "20260106", tmp_path / "o")


@pytest.mark.parametrize("change, message", [
    (lambda t: t.pop("stop_times.txt"), r"required GTFS file\(s\) missing: stop_times.txt"),
    (lambda t: t.__setitem__("stop_times.txt", t["stop_times.txt"].replace("stop_sequence", "seq")),
     r"stop_times.txt, column 'stop_sequence': required column is missing"),
    (lambda t: t.__setitem__("stop_times.txt", t["stop_times.txt"].replace("T2,07:16:00,07:16:00,S2,2",
                                                                           ",07:16:00,07:16:00,S2,2")),
     r"stop_times.txt, column 'trip_id', row 6: the trip_id is blank"),
    (lambda t: t.__setitem__("stop_times.txt", t["stop_times.txt"].replace("T1,07:06:00,07:06:00,S2,2",
                                                                           "T1,07:06:00,07:06:00,S2,two")),
     r"stop_times.txt, column 'stop_sequence', row 2: 'two' is not a whole number"),
    (lambda t: t.__setitem__("stops.txt", t["stops.txt"].replace("-33.45,-70.70", "-33.45,abc")),
     r"stops.txt, column 'stop_lon', row 1"),
])
def test_feed_errors_name_file_column_and_row(tmp_path, change, message):
    t = timetable_tables()
    change(t)
    path = write_feed(tmp_path / "bad.zip", t)
    with pytest.raises(FeedError, match=message) as err:
        I.read_day(path, "20260106")
    assert str(tmp_path) in str(err.value)
    assert "citybridge-indicators-" not in str(err.value)


def test_unsafe_archives_are_refused(tmp_path):
    t = timetable_tables()
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        for name, text in t.items():
            zf.writestr(name, text)
        zf.writestr("../escape.txt", "x")
    with pytest.raises(FeedError, match="points outside the archive"):
        I.read_day(evil, "20260106")
    (tmp_path / "junk.zip").write_bytes(b"not a zip at all")
    with pytest.raises(FeedError, match="not a valid zip archive"):
        I.read_day(tmp_path / "junk.zip", "20260106")


def _lie_about_size(path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size of ``member`` in both zip headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    # local header: uncompressed size at offset 22
    struct.pack_into("<I", data, info.header_offset + 22, size)
    # central directory entry: find it by its signature and file name
    name = member.encode()
    i = data.find(b"PK\x01\x02")
    while i >= 0:
        n = struct.unpack_from("<H", data, i + 28)[0]
        if bytes(data[i + 46:i + 46 + n]) == name:
            struct.pack_into("<I", data, i + 24, size)
            break
        i = data.find(b"PK\x01\x02", i + 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_member_larger_than_its_header_is_refused(tmp_path, compression):
    t = timetable_tables()
    path = tmp_path / "lying.zip"
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, text in t.items():
            zf.writestr(name, text)
    _lie_about_size(path, "stop_times.txt", 40)
    with pytest.raises(FeedError, match="larger than its header says|not a valid zip|cannot be read"):
        I.read_day(path, "20260106")


def test_trips_without_stop_times_on_the_date(tmp_path):
    t = timetable_tables()
    t["stop_times.txt"] = t["stop_times.txt"].replace("T1,", "X1,").replace("T2,", "X2,").replace(
        "T3,", "X3,").replace("TN,", "XN,").replace("MT1,", "XM1,")
    path = write_feed(tmp_path / "f.zip", t)
    with pytest.raises(FeedError, match="none of the 5 trips running on 20260106 has a timed stop time"):
        I.read_day(path, "20260106")
