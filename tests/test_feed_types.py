"""The feed's tables are typed as gtfs-kit types them, without gtfs-kit
(citybridge.feed.columns.typed_table): the types agree with gtfs-kit's own
table, and every table equals what gtfs-kit reads from the same checked text."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from gtfs_fixtures import frequency_tables, timetable_tables, write_feed

from citybridge.errors import FeedError
from citybridge.feed import read_day, read_tables
from citybridge.feed.columns import GTFS_TYPES, typed_table
from citybridge.feed.tables import FeedTables, feed_tables

gk = pytest.importorskip("gtfs_kit")

_ROOT = Path(__file__).resolve().parents[1]


def test_column_types_are_gtfs_kits():
    assert GTFS_TYPES == gk.constants.DTYPES


def test_missing_text_blank_integers_and_unknown_columns():
    df = pd.DataFrame({"trip_id": ["T1", "NA", ""], "direction_id": ["1", "", "0"],
                       "vehicle_energy": ["diesel", "", "electric"], "seats": ["40", "", "12"]})
    t = typed_table(df, "trips")
    assert list(t.columns) == ["trip_id", "direction_id", "vehicle_energy", "seats"]
    assert t["trip_id"].dtype == "string" and t["trip_id"].isna().tolist() == [False, True, True]
    assert t["direction_id"].dtype == "Int32" and t["direction_id"].tolist()[::2] == [1, 0]
    assert t["vehicle_energy"].dtype == "string" and pd.isna(t["vehicle_energy"][1])
    assert t["seats"].dtype == "Int64" and t["seats"].tolist()[::2] == [40, 12]


def _gtfs_kit_reads(tables: dict[str, pd.DataFrame], folder: Path):
    """What gtfs-kit reads from the checked text tables written as CSV files."""
    folder.mkdir()
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.txt", index=False)
    return gk.read_feed(folder, dist_units="km")


@pytest.mark.parametrize("feed", ["timetable", "frequency", "hangzhou", "santiago"])
def test_tables_equal_gtfs_kits_reading(tmp_path, feed):
    if feed in ("hangzhou", "santiago"):
        path = _ROOT / "data" / "cities" / feed / "gtfs.zip"
        if not path.is_file():
            pytest.skip(f"{path} not built yet")
        if feed == "santiago":  # the small tables only: gtfs-kit would read 3.7 million stop times as text
            shutil.copy(path, tmp_path / "full.zip")
            import zipfile
            with zipfile.ZipFile(tmp_path / "full.zip") as src, zipfile.ZipFile(tmp_path / "g.zip", "w") as dst:
                for info in src.infolist():
                    data = src.read(info)
                    if info.filename.endswith("stop_times.txt"):
                        data = b"\n".join(data.split(b"\n", 2000)[:2000]) + b"\n"
                    dst.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
            path = tmp_path / "g.zip"
    else:
        path = write_feed(tmp_path / "g.zip", (timetable_tables if feed == "timetable" else frequency_tables)())
    tables, notes = read_tables(path)
    ours = feed_tables(tables, notes, path)
    theirs = _gtfs_kit_reads(tables, tmp_path / "csv")
    assert isinstance(ours, FeedTables)
    for name, df in ours.tables().items():
        other = getattr(theirs, name)
        if df is None:
            assert other is None, name
        else:
            pd.testing.assert_frame_equal(df, other, check_exact=True, obj=name)


def test_empty_optional_file_is_absent(tmp_path):
    tables = timetable_tables()
    tables["shapes.txt"] = ""
    day = read_day(write_feed(tmp_path / "g.zip", tables), "20260105")
    assert day.feed.shapes is None and len(day.trips) == 5


def test_unreadable_number_names_the_file(tmp_path):
    tables = timetable_tables()
    tables["stop_times.txt"] = tables["stop_times.txt"].replace(",1\n", ",1e400\n", 1)
    with pytest.raises(FeedError, match=r"stop_times.txt"):
        read_tables_and_type(write_feed(tmp_path / "g.zip", tables))


def read_tables_and_type(path: Path) -> FeedTables:
    tables, notes = read_tables(path)
    return feed_tables(tables, notes, path)
