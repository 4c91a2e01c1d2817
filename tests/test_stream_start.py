"""stop_times started early (citybridge.feed.stream.start_stop_times), as ``citybridge
indicators`` does before pandas is loaded: the day is the same as read in turn, anything the
stream cannot serve is read the usual way with the usual messages, and nothing keeps running."""
from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citybridge.cli import main
from citybridge.errors import FeedError
from citybridge.feed import read_day
from citybridge.feed.stream import start_stop_times
from gtfs_fixtures import timetable_tables

DATE = "20260107"


def deflated(path: Path, tables: dict[str, str], *, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, text in tables.items():
            zf.writestr(name, text)
    return path


def big_tables(copies: int = 400) -> dict[str, str]:
    """The timetable fixture with its trips copied ``copies`` times (a file of many pieces)."""
    t = timetable_tables()
    head, *rows = t["stop_times.txt"].strip().split("\n")
    trips_head, *trips = t["trips.txt"].strip().split("\n")
    st, tr = [head], [trips_head]
    for k in range(copies):
        st += [r.replace(r.split(",")[0], f"{r.split(',')[0]}_{k}", 1) for r in rows]
        tr += [",".join(f"{v}_{k}" if i == 2 else v for i, v in enumerate(r.split(","))) for r in trips]
    return {**t, "stop_times.txt": "\n".join(st) + "\n", "trips.txt": "\n".join(tr) + "\n"}


def same_day(a, b) -> None:
    for name in ("trip", "stop", "seq", "arr", "dep", "stop_ids"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    pd.testing.assert_frame_equal(a.trips, b.trips)
    assert a.notes == b.notes


def test_a_started_stream_gives_the_day_read_in_turn(tmp_path):
    path = deflated(tmp_path / "f.zip", big_tables())
    started = start_stop_times(path)
    assert started is not None and started.serves(path, zipfile.ZipFile(path).getinfo("stop_times.txt"),
                                                  *started.limits)
    same_day(read_day(path, DATE, stop_times=started), read_day(path, DATE))


def test_nothing_starts_for_a_folder_a_stored_member_or_a_missing_or_broken_file(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for name, text in timetable_tables().items():
        (folder / name).write_text(text, encoding="utf-8")
    assert start_stop_times(folder) is None
    assert start_stop_times(deflated(tmp_path / "stored.zip", timetable_tables(), method=zipfile.ZIP_STORED)) is None
    assert start_stop_times(tmp_path / "missing.zip") is None
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not a zip")
    assert start_stop_times(tmp_path / "broken.zip") is None
    # the reading proper then says what is wrong, as without a stream
    with pytest.raises(FeedError, match="not found"):
        read_day(tmp_path / "missing.zip", DATE, stop_times=None)


def test_an_archive_over_the_limits_starts_nothing_and_is_refused_as_usual(tmp_path):
    path = deflated(tmp_path / "f.zip", big_tables(50))
    assert start_stop_times(path, max_bytes=10_000) is None
    with pytest.raises(FeedError, match="expands to more than 10,000 bytes"):
        read_day(path, DATE, max_bytes=10_000)


def test_a_stream_under_other_limits_or_of_another_file_is_not_used_and_stops(tmp_path):
    path = deflated(tmp_path / "f.zip", big_tables())
    other = deflated(tmp_path / "g.zip", big_tables(3))
    before = threading.active_count()
    started = start_stop_times(path, max_ratio=999.0)
    same_day(read_day(path, DATE, stop_times=started), read_day(path, DATE))  # default limits: not served
    started = start_stop_times(other)
    same_day(read_day(path, DATE, stop_times=started), read_day(path, DATE))
    assert threading.active_count() == before


def test_cancel_stops_the_threads(tmp_path):
    path = deflated(tmp_path / "f.zip", big_tables(3000))
    before = threading.active_count()
    started = start_stop_times(path)
    assert started is not None
    started.cancel()
    assert threading.active_count() == before


@pytest.mark.parametrize("args", [["--date", "2026-13-45"], ["--date", "20300101"], ["--out", "a-file"]])
def test_the_command_with_a_wrong_argument_stops_its_stream(tmp_path, capsys, args):
    """A wrong date, a date without service, an output folder that is a file: a message, and the
    stream started for the feed stopped."""
    path = deflated(tmp_path / "f.zip", big_tables())
    (tmp_path / "a-file").write_text("not a folder")
    before = threading.active_count()
    opts = {"--date": DATE, "--out": str(tmp_path / "out")}
    opts.update({args[0]: str(tmp_path / args[1]) if args[0] == "--out" else args[1]})
    assert main(["indicators", str(path), *[x for kv in opts.items() for x in kv]]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert threading.active_count() == before


def test_the_command_reads_the_started_stream(tmp_path, capsys):
    path = deflated(tmp_path / "f.zip", big_tables())
    assert main(["indicators", str(path), "--date", DATE, "--out", str(tmp_path / "out")]) == 0
    trips = pd.read_parquet(tmp_path / "out" / "trip_stats.parquet")
    assert len(trips) == 5 * 400  # the fixture's five weekday trips, 400 times
    assert trips["trip_id"].tolist() == read_day(path, DATE).trips["trip_id"].tolist()
