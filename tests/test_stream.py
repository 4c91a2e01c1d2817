"""Streaming stop_times in pieces (citybridge.feed.stream): pieces end at line
ends, and codes of one value met in different pieces (even written with
spaces around it) become one code."""
from __future__ import annotations

import io

from gtfs_fixtures import timetable_tables, write_feed

from citybridge.feed import read_day
from citybridge.feed.stream import text_pieces


def test_text_pieces_end_at_line_ends():
    fh = io.BytesIO(b"a,1\nbb,2\nccc,3")
    pieces = [bytes(p) for p in text_pieces(fh, 5)]
    # 5 bytes "a,1\nb": cut after the line end, "b" carried to the next read, and so on;
    # the last line has no line end and comes whole at the end
    assert pieces == [b"a,1\n", b"bb,2\n", b"ccc,3"]


def test_one_trip_across_pieces_is_one_trip(tmp_path):
    tables = timetable_tables()
    lines = tables["stop_times.txt"].splitlines()
    header, rows = lines[0], lines[1:]
    t1 = [r for r in rows if r.startswith("T1,")]
    others = [r for r in rows if not r.startswith("T1,")]
    # T1's first two stops at the top, more than two pieces (4 MiB each) of a Sunday trip in between,
    # T1's last two stops at the end written with spaces around the ids. The Sunday trip's rows are
    # long (its id padded with spaces) in the first piece and short after it, so the rows of the
    # file, estimated from the first piece, are too few and the code arrays must grow
    filler = [f"SX{' ' * 140},10:00:00,10:00:00,S1,{k}" for k in range(1, 25_001)]
    filler += [f"SX,10:00:00,10:00:00,S1,{k}" for k in range(25_001, 225_001)]
    tail = [" T1 ," + r[3:].replace("S3", " S3 ").replace("S4", " S4") for r in t1[2:]]
    tables["stop_times.txt"] = "\n".join([header, *t1[:2], *others, *filler, *tail]) + "\n"
    assert len(tables["stop_times.txt"]) > 2 << 22
    tables["trips.txt"] += "B1,SU,SX,0\n"
    day = read_day(write_feed(tmp_path / "g.zip", tables), "20260105")  # a Monday: SX does not run
    trips = day.trips.set_index("trip_id")
    assert sorted(trips.index) == ["MT1", "T1", "T2", "T3", "TN"]
    assert trips.loc["T1", "n_stops"] == 4
    assert trips.loc["T1", "start_s"] == 7 * 3600  # 07:00
    assert trips.loc["T1", "end_s"] == 7 * 3600 + 18 * 60  # 07:18, three links of 6 min
    assert list(day.stop_ids) == ["S1", "S2", "S3", "S4"]
    assert day.n_stop_times == 5 * 4
