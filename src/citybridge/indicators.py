"""Headless indicator tables for any feed, fast enough for big ones.

``citybridge indicators FEED --date YYYYMMDD --out DIR`` calls
:func:`run_indicators`, which writes four tables without running a notebook:

==================  ==========================================================
``trip_stats``      :func:`citybridge.service.trip_table`, sorted by ``trip_id``
``stop_stats``      :func:`citybridge.service.stop_stats`
``route_stats``     :func:`citybridge.service.route_stats`
``segment_stats``   :func:`citybridge.speed.segment_stats` of
                    :func:`citybridge.speed.segment_speeds`, by period
==================  ==========================================================

plus ``indicators.json`` (date, CRS, row counts, what was fixed on the way in).
The values are those of the notebook functions for the same feed and date
(the tests check it, to floating-point rounding); only the way there differs.

Why a second path
-----------------
:func:`citybridge.feed.read_feed` cleans every table through pandas string
columns and rewrites it for gtfs-kit, and :func:`citybridge.feed.prepare_day`
parses times with a regular expression row by row: fine for the sample
cities, minutes and gigabytes for a metropolis with millions of stop times.
Here

* every table except ``stop_times.txt`` still goes through
  :func:`citybridge.feed.read_feed` (same checks, same cleaning, same notes);
* ``stop_times.txt`` is streamed out of the zip (same archive limits:
  :func:`citybridge.feed._check_members`) into ``pyarrow`` dictionary-encoded
  columns, so each distinct trip id, stop id, time and sequence number is
  cleaned and parsed once, with the same functions the notebook path uses
  (:func:`citybridge.feed.times_to_seconds`, ``pd.to_numeric``), and the
  rows become integer codes;
* the day is prepared on those codes with numpy (interpolation of blank
  times, frequencies expanded by :func:`citybridge.feed.expand_frequencies`
  on one row per trip), and the indicators are computed by sorting and
  counting integer keys instead of grouping strings.

A feed that the fast reader cannot take as it is (not UTF-8, ragged rows,
odd quoting) falls back to the notebook path's own CSV cleaning for that file.
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from . import feed as F
from .errors import CitybridgeError, FeedError, where
from .service import OTHER, Periods, _route_stats, period_of, period_table

#: Output tables, in the order they are written.
TABLES = ("trip_stats", "stop_stats", "route_stats", "segment_stats")
FORMATS = ("parquet", "csv")
_ST = "stop_times.txt"
_ST_COLUMNS = ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time",
               "shape_dist_traveled")


class _Fallback(Exception):
    """The fast CSV reader cannot take this file as it is."""


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

@dataclass
class _Column:
    """One dictionary-encoded text column: ``values[codes]`` is the cleaned text."""

    codes: np.ndarray          # int32 per row
    values: np.ndarray         # object array of stripped strings (unique)


def _dict_columns(table, names: list[str]) -> dict[str, _Column]:
    """Decode the needed columns of a dictionary-encoded Arrow table, strip
    white space and merge values that become equal."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {}
    table = table.unify_dictionaries()
    for name in names:
        if name not in table.column_names:
            continue
        arr = table.column(name).combine_chunks()
        if not pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_encode()
        idx = arr.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        raw = arr.dictionary
        if len(raw) and (pc.any(pc.match_substring(raw, "\x00")).as_py()
                         or pc.any(pc.match_substring_regex(raw, r'^\s+"')).as_py()):
            raise _Fallback  # NUL bytes or quotes after a space: let pandas clean them
        enc = pc.dictionary_encode(pc.utf8_trim_whitespace(raw))
        codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        values = enc.dictionary.to_numpy(zero_copy_only=False).astype(object, copy=False)
        out[name] = _Column(codes[idx] if len(idx) else idx, values)
    return out


class _Inflater:
    """Read-only stream of one deflated zip member, never more than its
    declared size (a lying header cannot exhaust memory), CRC checked.

    Inflates with ISA-L (``isal``, about four times faster than zlib) when it
    is installed, else with zlib; reads the compressed bytes straight from
    the archive.
    """

    def __init__(self, path: Path, info: zipfile.ZipInfo, label: str):
        import struct

        try:
            from isal import isal_zlib as zmod
        except ImportError:  # pragma: no cover - isal is a dependency
            import zlib as zmod
        self._z = zmod
        self._label = label
        self._fp = open(path, "rb")
        self._fp.seek(info.header_offset)
        head = self._fp.read(30)
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            self._fp.close()
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        n, m = struct.unpack("<HH", head[26:30])
        self._fp.seek(info.header_offset + 30 + n + m)
        self._left_in = info.compress_size
        self._size = info.file_size
        self._crc_want = info.CRC
        self._d = zmod.decompressobj(-15)
        self._out = 0
        self._crc = 0
        self._pending = b""
        self.closed = False

    def _more(self, n: int) -> bytes:
        """Up to ``n`` more inflated bytes (b"" at the end)."""
        while True:
            if self._d.unconsumed_tail:
                data = self._d.decompress(self._d.unconsumed_tail, n)
            elif self._left_in > 0:
                raw = self._fp.read(min(self._left_in, max(n, 1 << 16)))
                if not raw:
                    raise zipfile.BadZipFile(f"{self._label}: truncated")
                self._left_in -= len(raw)
                data = self._d.decompress(raw, n)
            else:
                data = b""
            if data or (self._left_in <= 0 and not self._d.unconsumed_tail):
                break
        self._out += len(data)
        if self._out > self._size:
            raise FeedError(f"{self._label}: larger than its header says; refusing to read it.")
        self._crc = self._z.crc32(data, self._crc)
        if not data and self._crc != self._crc_want:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self._label}")
        return data

    def readline(self, limit: int = 1 << 20) -> bytes:
        while b"\n" not in self._pending and len(self._pending) < limit:
            chunk = self._more(1 << 16)
            if not chunk:
                break
            self._pending += chunk
        i = self._pending.find(b"\n")
        cut = len(self._pending) if i < 0 else i + 1
        line, self._pending = self._pending[:cut], self._pending[cut:]
        return line

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts = [self._pending] if self._pending else []
            self._pending = b""
            while chunk := self._more(1 << 22):
                parts.append(chunk)
            return b"".join(parts)
        if self._pending:
            out, self._pending = self._pending[:n], self._pending[n:]
            return out
        return self._more(n)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._fp.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Bounded:
    """A read-only stream that refuses to yield more than ``limit`` bytes."""

    def __init__(self, fh, limit: int, label: str):
        self._fh = fh
        self._limit = limit
        self._label = label
        self.count = 0
        self.closed = False

    def _add(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self._limit:
            raise FeedError(f"{self._label}: larger than its header says; refusing to read it.")
        return data

    def read(self, n: int = -1) -> bytes:
        return self._add(self._fh.read(n))

    def readline(self, n: int = 1 << 20) -> bytes:
        return self._add(self._fh.readline(n))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _arrow_stop_times(fh):
    """Parse stop_times with pyarrow, every column dictionary-encoded text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = fh.readline(1 << 20)
    if header[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise _Fallback  # UTF-16
    try:
        line = header.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Fallback from None
    names = [c.strip().lstrip("\ufeff") for c in next(csv.reader([line]), [])]
    if not names or len(set(names)) != len(names):
        raise _Fallback
    dtype = pa.dictionary(pa.int32(), pa.string())
    try:
        return pacsv.read_csv(
            fh,
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 22),
            convert_options=pacsv.ConvertOptions(column_types={n: dtype for n in names},
                                                 strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False))
    except pa.ArrowInvalid as exc:
        if isinstance(exc.__context__, FeedError):
            raise exc.__context__ from None
        raise _Fallback from None


def _read_stop_times(opener, size: int, label: str, feed_name: str) -> tuple[dict[str, _Column], list[str], int, list[str]]:
    """Columns, column names, row count and notes of stop_times.txt.

    Fast path: pyarrow; fallback: :func:`citybridge.feed._clean_csv` (the
    notebook path's own cleaning), for files pyarrow cannot take as they are
    (not UTF-8, ragged rows, odd quoting).
    """
    import pyarrow as pa

    try:
        with opener() as fh:
            table = _arrow_stop_times(fh)
        names = table.column_names
        return _dict_columns(table, [c for c in _ST_COLUMNS if c in names]), names, table.num_rows, []
    except (_Fallback, pa.ArrowInvalid, UnicodeDecodeError, csv.Error):
        pass
    with opener() as fh:
        data = fh.read(size + 1)
    if len(data) > size:
        raise FeedError(f"{label}: larger than its header says; refusing to read it.")
    text, enc = F.decode_text(data)
    del data
    notes = []
    if enc != "utf-8":
        notes.append(f"{feed_name}/{_ST}: read as {enc} (not UTF-8); check that accented names "
                     "look right, or save the file as UTF-8")
    df = F._clean_csv(text, label)
    del text
    names = [str(c) for c in df.columns]
    table = pa.table({c: pa.array(df[c].fillna("").astype(str).to_numpy(dtype=object), type=pa.string())
                      for c in names if c in _ST_COLUMNS})
    return _dict_columns(table, list(table.column_names)), names, len(df), notes


def _read_all(path: Path, *, datum: str, max_bytes: int, max_ratio: float):
    """Read a feed safely: every table but stop_times through
    :func:`citybridge.feed.read_feed`, stop_times as code columns.

    Returns ``(feed, columns, names, notes)``.
    """
    if not path.exists():
        raise FeedError(f"{path}: GTFS feed not found; check the path (or the 'gtfs' entry of city.yml)")
    small: dict[str, bytes] = {}
    notes: list[str] = []
    inner_zips: list[str] = []

    def finish(opener, size: int, label: str):
        F.require_files(path, set(small) | ({_ST} if opener is not None else set()), inner_zips)
        cols, names, _n, nt = _read_stop_times(opener, size, label, path.name)
        return _read_small_feed(path, small, names, datum), cols, names, notes + nt

    if path.is_dir():
        files, inner_zips = F.folder_tables(path, max_bytes=max_bytes, notes=notes)
        st_path = files.pop(_ST, None)
        small.update({name: p.read_bytes() for name, p in files.items()})
        try:
            if st_path is None:
                return finish(None, 0, "")
            size = st_path.stat().st_size
            return finish(lambda: _Bounded(open(st_path, "rb"), size, str(st_path)), size, str(st_path))
        except OSError as exc:
            raise FeedError(f"{path}/{_ST}: cannot be read ({exc.strerror or exc})") from None
    with F.zip_errors(path), zipfile.ZipFile(path) as zf:
        members, inner_zips = F.zip_tables(zf, path, max_bytes=max_bytes, max_ratio=max_ratio)
        st_info = members.pop(_ST, None)
        small.update({name: F.read_member(zf, info, path) for name, info in members.items()})
        if st_info is None:
            return finish(None, 0, "")
        label = f"{path}/{st_info.filename}"
        if st_info.compress_type == zipfile.ZIP_DEFLATED and not st_info.flag_bits & 0x1:
            def opener():
                return _Inflater(path, st_info, label)
        else:
            def opener():
                return _Bounded(zf.open(st_info), st_info.file_size, label)
        return finish(opener, st_info.file_size, label)


def _read_small_feed(path: Path, small: dict[str, bytes], st_names: list[str], datum: str):
    """Every table but stop_times through :func:`citybridge.feed.read_feed`
    (stop_times as its header only), with messages naming the real feed."""
    with tempfile.TemporaryDirectory(prefix="citybridge-indicators-") as tmp:
        tdir = Path(tmp) / path.name
        tdir.mkdir()
        for name, data in small.items():
            (tdir / name).write_bytes(data)
        hdr = io.StringIO()
        csv.writer(hdr, lineterminator="\n").writerow(st_names)
        (tdir / _ST).write_text(hdr.getvalue(), encoding="utf-8")
        try:
            fd = F.read_feed(tdir, datum=datum)
        except CitybridgeError as exc:
            raise type(exc)(str(exc).replace(str(tdir), str(path))) from None
    fd.notes = [n.replace(str(tdir), str(path)) for n in fd.notes]
    fd.source_path = path
    # gtfs-kit leaves a header-only table out; keep an empty one with the real columns
    fd.stop_times = pd.DataFrame({c: pd.Series(dtype=object) for c in st_names})
    return fd


def _parse_times(values: np.ndarray) -> np.ndarray:
    """:func:`citybridge.feed.times_to_seconds` of distinct stripped texts, vectorised.

    ASCII values are matched against ``H:MM:SS`` (1–3 hour digits) with
    pyarrow; any other value goes through ``times_to_seconds`` itself.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.full(len(values), np.nan)
    if not len(values):
        return out
    arr = pc.utf8_trim_whitespace(pa.array(values, type=pa.string()))
    ascii_ = pc.string_is_ascii(arr).to_numpy(zero_copy_only=False)
    ok = pc.match_substring_regex(arr, r"^[0-9]{1,3}:[0-9]{2}:[0-9]{2}$").to_numpy(zero_copy_only=False)
    ok &= ascii_
    if ok.any():
        parts = pc.list_flatten(pc.split_pattern(pc.filter(arr, pa.array(ok)), ":"))
        v = pc.cast(parts, pa.int64()).to_numpy().reshape(-1, 3).astype(float)
        out[ok] = v[:, 0] * 3600 + v[:, 1] * 60 + v[:, 2]
    other = ~ascii_
    if other.any():
        out[other] = F.times_to_seconds(pd.Series(values[other], dtype=object)).to_numpy(dtype=float)
    return out


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def _check_stop_times(cols: dict[str, _Column], names: list[str], label: str) -> np.ndarray:
    """The stop_times checks of :func:`citybridge.feed._require_columns`, on
    codes. Returns the stop_sequence of every row (float)."""
    for key in ("trip_id", "stop_id"):
        c = cols[key]
        blank_u = c.values == ""
        if blank_u.any():
            blank = blank_u[c.codes]
            raise FeedError(f"{where(label, key, _first(blank))}: the {key} is blank "
                            f"({int(blank.sum()):,} row(s)); every row needs one")
    c = cols["stop_sequence"]
    seq_u = pd.to_numeric(pd.Series(c.values, dtype=object), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad_u = np.isnan(seq_u) | (seq_u < 0) | (seq_u != np.round(seq_u))
    if bad_u.any():
        bad = bad_u[c.codes]
        i = _first(bad)
        raise FeedError(f"{where(label, 'stop_sequence', i)}: '{c.values[c.codes[i - 1]]}' is not a whole "
                        f"number ({int(bad.sum()):,} row(s)); stop_sequence orders the stops of a trip: "
                        "write 1, 2, 3, …")
    if "arrival_time" not in names and "departure_time" not in names:
        raise FeedError(f"{where(label, 'departure_time')}: neither arrival_time nor "
                        "departure_time is present; the timetable needs times")
    return seq_u[c.codes]


def _active_trips(fd, date: str) -> pd.DataFrame:
    """Trips running on ``date``, cleaned as :func:`citybridge.feed.prepare_day` does."""
    return F.active_trips(fd, date)


# --------------------------------------------------------------------------
# Grouped numpy helpers (rows sorted by group)
# --------------------------------------------------------------------------

def _ffill_in_groups(v: np.ndarray, starts_of_row: np.ndarray) -> np.ndarray:
    """Forward fill NaN within groups; ``starts_of_row`` is each row's group start."""
    idx = np.where(np.isnan(v), -1, np.arange(len(v)))
    np.maximum.accumulate(idx, out=idx)
    ok = idx >= starts_of_row
    return np.where(ok, v[np.where(ok, idx, 0)], np.nan)


def _bfill_in_groups(v: np.ndarray, ends_of_row: np.ndarray) -> np.ndarray:
    """Backward fill NaN within groups; ``ends_of_row`` is each row's group end (exclusive)."""
    r = _ffill_in_groups(v[::-1], (len(v) - ends_of_row)[::-1])
    return r[::-1]


def _interpolate(trip: np.ndarray, arr: np.ndarray, dep: np.ndarray, x: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`citybridge.feed.interpolate_times` on arrays sorted by trip and stop order."""
    dep2 = np.where(np.isnan(dep), arr, dep)
    arr2 = np.where(np.isnan(arr), dep, arr)
    blank = np.isnan(dep2)
    n = int(blank.sum())
    if n == 0:
        return arr2, dep2, 0
    first = np.r_[True, trip[1:] != trip[:-1]] if len(trip) else np.zeros(0, bool)
    gstart = np.flatnonzero(first)
    gid = np.cumsum(first) - 1
    gend = np.r_[gstart[1:], len(trip)]
    start_of_row, end_of_row = gstart[gid], gend[gid]
    if x is None:
        x = (np.arange(len(trip)) - start_of_row).astype(float)
    known_x = np.where(blank, np.nan, x)
    t0 = _ffill_in_groups(dep2, start_of_row)
    x0 = _ffill_in_groups(known_x, start_of_row)
    t1 = _bfill_in_groups(arr2, end_of_row)
    x1 = _bfill_in_groups(known_x, end_of_row)
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.round(t0 + (t1 - t0) * (x - x0) / (x1 - x0))
    arr2 = np.where(np.isnan(arr2), fill, arr2)
    dep2 = np.where(np.isnan(dep2), fill, dep2)
    return arr2, dep2, n


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for every start and length."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.cumsum(lengths) - lengths
    return np.repeat(starts - offs, lengths) + np.arange(total)


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each string in sorted order, and the sorted unique strings."""
    order = np.argsort(values.astype(str) if len(values) else values, kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank, values[order]


# --------------------------------------------------------------------------
# The day
# --------------------------------------------------------------------------

@dataclass
class BigDay:
    """One service day held as integer codes (the fast twin of :class:`citybridge.feed.FeedDay`).

    Attributes
    ----------
    feed
        The ``gtfs_kit.Feed`` of every table but stop_times (read by
        :func:`citybridge.feed.read_feed`; its ``stop_times`` is empty).
    date, crs, notes
        As in :class:`~citybridge.feed.FeedDay`.
    stops, routes
        As in :class:`~citybridge.feed.FeedDay`.
    trips
        As :attr:`FeedDay.trips <citybridge.feed.FeedDay>`, sorted by
        ``trip_id``; row *i* is trip code *i*.
    stop_ids
        Stop id of each stop code, sorted; every stop served on the day.
    trip, stop
        Trip and stop code of each stop time (int32), rows sorted by trip
        code then stop order.
    seq
        ``stop_sequence`` (int64).
    arr, dep
        Arrival and departure (s after midnight of the service day, float).
    """

    feed: object
    date: str
    crs: str
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_ids: np.ndarray
    trip: np.ndarray
    stop: np.ndarray
    seq: np.ndarray
    arr: np.ndarray
    dep: np.ndarray
    notes: list[str] = field(default_factory=list)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_stop_times(self) -> int:
        return len(self.trip)

    def trip_starts(self) -> np.ndarray:
        """Row index of each trip's first stop time (trips all have rows)."""
        if "starts" not in self._cache:
            counts = np.bincount(self.trip, minlength=len(self.trips))
            self._cache["starts"] = np.cumsum(counts) - counts
        return self._cache["starts"]

    def to_feed_day(self) -> F.FeedDay:
        """The same day as a :class:`~citybridge.feed.FeedDay` (text columns; slow for big feeds)."""
        t = self.trips
        st = pd.DataFrame({
            "trip_id": t["trip_id"].to_numpy()[self.trip],
            "template_id": t["template_id"].to_numpy()[self.trip],
            "route_id": t["route_id"].to_numpy()[self.trip],
            "mode": t["mode"].to_numpy()[self.trip],
            "stop_id": self.stop_ids[self.stop],
            "stop_sequence": self.seq,
            "arrival_s": self.arr,
            "departure_s": self.dep,
        })
        return F.FeedDay(feed=self.feed, date=self.date, stops=self.stops, routes=self.routes,
                         trips=t.reset_index(drop=True), stop_times=st, crs=self.crs, notes=list(self.notes))


def read_day(path: str | Path, date: str | None = None, *, datum: str = "WGS84", crs: str | None = None,
             max_bytes: int = F.MAX_UNCOMPRESSED_BYTES, max_ratio: float = F.MAX_COMPRESSION_RATIO) -> BigDay:
    """Read a GTFS zip or folder and prepare one service day, fast.

    The same day as ``feed.prepare_day(feed.read_feed(path, datum=datum),
    date, crs=crs)``, held as integer codes (:class:`BigDay`).

    Raises
    ------
    FeedError
        Unsafe or unreadable archive, missing file or column, blank ids,
        unreadable stop sequences, a date that is not ``YYYYMMDD`` or on which
        no trip runs.
    """
    path = Path(path)
    if date is not None and str(date).strip():
        date = F._to_date(str(date).strip()).strftime("%Y%m%d")
    fd, cols, names, read_notes = _read_all(path, datum=datum, max_bytes=max_bytes, max_ratio=max_ratio)
    label = f"{path}/{_ST}"
    seq_all = _check_stop_times(cols, names, label)
    if date is None or not str(date).strip():
        date = F.choose_date(fd)
    trips_act = _active_trips(fd, date).drop_duplicates("trip_id")
    # routes, stops, CRS and notes exactly as prepare_day makes them (on one
    # trip: the trips are prepared here, on codes)
    shell_feed = SimpleNamespace(**{k: getattr(fd, k, None) for k in (
        "routes", "stops", "stop_times", "calendar", "calendar_dates", "frequencies", "notes")})
    shell_feed.trips = fd.trips[fd.trips["trip_id"].astype(str) == trips_act["trip_id"].iloc[0]]
    shell = F.prepare_day(shell_feed, date, crs=crs)
    date, crs = shell.date, shell.crs
    notes = list(fd.notes) + read_notes
    trips_act = trips_act.sort_values("trip_id", kind="stable").reset_index(drop=True)
    tid = pd.Index(trips_act["trip_id"].to_numpy(dtype=object))

    # ---- stop times of the active trips, sorted by trip and stop order
    tc = cols["trip_id"]
    trip_u = tid.get_indexer(tc.values)
    row_trip = trip_u[tc.codes] if len(tc.codes) else tc.codes.astype(np.int64)
    rows = np.flatnonzero(row_trip >= 0)
    trip = row_trip[rows]
    seq = seq_all[rows]
    order = np.lexsort((seq, trip))
    rows, trip, seq = rows[order], trip[order], seq[order]

    def times(name: str) -> tuple[np.ndarray, int]:
        if name not in cols:
            return np.full(len(rows), np.nan), 0
        c = cols[name]
        sec_u = _parse_times(c.values)
        bad_u = (c.values != "") & np.isnan(sec_u)
        codes = c.codes[rows]
        return sec_u[codes], int(bad_u[codes].sum())

    arr, bad_a = times("arrival_time")
    dep, bad_d = times("departure_time")
    if bad_a + bad_d:
        notes.append(f"{bad_a + bad_d:,} stop time value(s) are not written H:MM:SS and were treated as "
                     "blank (interpolated where possible)")
    x = None
    if "shape_dist_traveled" in cols:
        c = cols["shape_dist_traveled"]
        sd_u = pd.to_numeric(pd.Series(c.values, dtype=object), errors="coerce").to_numpy(dtype=float)
        sd = sd_u[c.codes[rows]]
        if not np.isnan(sd).any():
            x = sd
    arr, dep, blank = _interpolate(trip, arr, dep, x)
    timed = ~np.isnan(dep)
    notes += F.interpolation_notes(blank, int((~timed).sum()))
    rows, trip, seq, arr, dep = rows[timed], trip[timed], seq[timed], arr[timed], dep[timed]
    sc = cols["stop_id"]
    stop_raw = sc.codes[rows]
    del cols, seq_all, row_trip

    # ---- concrete trips: frequencies expanded on one row per trip
    counts = np.bincount(trip, minlength=len(trips_act))
    starts = np.cumsum(counts) - counts
    present = np.flatnonzero(counts > 0)
    first_dep = np.full(len(trips_act), np.nan)
    if len(present):
        first_dep[present] = np.fmin.reduceat(dep, starts[present])
    mini = pd.DataFrame({"trip_id": trips_act["trip_id"].to_numpy()[present],
                         "arrival_s": first_dep[present], "departure_s": first_dep[present],
                         "_code": present})
    if not len(present):
        raise FeedError(f"{label}: none of the {len(trips_act):,} trips running on {date} has a timed stop "
                        "time; check that its trip_id values match trips.txt")
    conc = F.expand_frequencies(mini, fd.frequencies)
    if fd.frequencies is not None and not fd.frequencies.empty:
        notes.append("trips from frequencies.txt were expanded into concrete departures "
                     "(start + k × headway, before the end time)")
    ccode = conc["_code"].to_numpy(dtype=np.int64)
    shift = conc["departure_s"].to_numpy(dtype=float) - first_dep[ccode]
    cid = conc["trip_id"].to_numpy(dtype=object)
    rank, cid_sorted = _sorted_codes(cid)
    inv = np.empty_like(rank)
    inv[rank] = np.arange(len(rank))
    ccode, shift = ccode[inv], shift[inv]
    ctemplate = conc["template_id"].to_numpy(dtype=object)[inv]
    lengths = counts[ccode]
    take = _ranges(starts[ccode], lengths)
    n_conc = len(ccode)
    trip_f = np.repeat(np.arange(n_conc, dtype=np.int32), lengths)
    sh = np.repeat(shift, lengths)
    arr_f = arr[take] + sh
    dep_f = dep[take] + sh
    seq_f = seq[take].astype(np.int64)
    stop_f = stop_raw[take]
    del arr, dep, seq, stop_raw, rows, take, sh

    # ---- stop codes in sorted stop_id order (stops served on the day)
    used, stop_inv = np.unique(stop_f, return_inverse=True)
    srank, stop_ids = _sorted_codes(sc.values[used])
    stop_f = srank[stop_inv].astype(np.int32)

    # ---- the trips table as prepare_day builds it
    cstart = np.cumsum(lengths) - lengths
    ta = trips_act.iloc[ccode].reset_index(drop=True)
    routes = shell.routes
    mode = ta["route_id"].map(routes.drop_duplicates("route_id").set_index("route_id")["mode"]).fillna("other")
    trips = pd.DataFrame({
        "trip_id": cid_sorted,
        "template_id": ctemplate,
        "route_id": ta["route_id"].to_numpy(),
        "mode": mode.to_numpy(),
        "service_id": ta["service_id"].to_numpy(),
        "direction_id": ta["direction_id"].to_numpy(),
        "vehicle_energy": ta["vehicle_energy"].to_numpy(),
        "start_s": np.fmin.reduceat(dep_f, cstart) if n_conc else np.zeros(0),
        "end_s": np.fmax.reduceat(arr_f, cstart) if n_conc else np.zeros(0),
        "n_stops": lengths.astype(np.int64),
    })
    trips["trip_id"] = trips["trip_id"].astype(str)
    trips["template_id"] = trips["template_id"].astype(str)
    return BigDay(feed=fd, date=date, crs=crs, stops=shell.stops, routes=routes, trips=trips,
                  stop_ids=stop_ids, trip=trip_f, stop=stop_f, seq=seq_f, arr=arr_f, dep=dep_f,
                  notes=notes)


# --------------------------------------------------------------------------
# Indicators
# --------------------------------------------------------------------------

def _period_codes(seconds: np.ndarray, pt: pd.DataFrame) -> np.ndarray:
    """Index of the period of each time in ``pt`` (first listed wins), ``len(pt)`` for other."""
    s = np.asarray(seconds, dtype=float)
    out = np.full(len(s), len(pt), dtype=np.int16)
    for k in range(len(pt) - 1, -1, -1):
        a, b = float(pt["start_s"].iloc[k]), float(pt["end_s"].iloc[k])
        out[(s >= a) & (s < b)] = k
    return out


def _links(day: BigDay) -> dict:
    """Consecutive stop pairs within trips, as in :func:`citybridge.service._links`."""
    if "links" in day._cache:
        return day._cache["links"]
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", day.crs, always_xy=True)
    x, y = tr.transform(day.stops["stop_lon"].to_numpy(), day.stops["stop_lat"].to_numpy())
    xy = pd.DataFrame({"x": x, "y": y}, index=pd.Index(day.stops["stop_id"].to_numpy()))
    xy = xy[~xy.index.duplicated()]
    pos = xy.index.get_indexer(day.stop_ids)
    known = pos >= 0
    sx = np.where(known, xy["x"].to_numpy(dtype=float)[pos], np.nan)
    sy = np.where(known, xy["y"].to_numpy(dtype=float)[pos], np.nan)
    i = np.flatnonzero(day.trip[1:] == day.trip[:-1])
    j = i + 1
    with np.errstate(invalid="ignore"):
        dist = np.hypot(sx[day.stop[j]] - sx[day.stop[i]], sy[day.stop[j]] - sy[day.stop[i]])
    dist[~np.isfinite(dist)] = np.nan
    day._cache["links"] = {"i": i, "j": j, "dist": dist}
    return day._cache["links"]


def trip_stats(day: BigDay, *, periods: Periods | None = None) -> pd.DataFrame:
    """:func:`citybridge.service.trip_table` of the day, sorted by ``trip_id``.

    Columns ``trip_id``, ``template_id``, ``route_id``, ``mode``,
    ``direction_id``, ``start_s``, ``end_s`` (s), ``duration_h`` (h),
    ``distance_km`` (km, straight lines; NaN when a stop has no position),
    ``period``.
    """
    lk = _links(day)
    n = len(day.trips)
    ltrip = day.trip[lk["i"]]
    unknown = np.isnan(lk["dist"])
    dsum = np.bincount(ltrip, weights=np.where(unknown, 0.0, lk["dist"]), minlength=n)
    bad = np.bincount(ltrip[unknown], minlength=n) > 0
    t = day.trips[["trip_id", "template_id", "route_id", "mode", "direction_id", "start_s", "end_s"]].copy()
    t["duration_h"] = (t["end_s"] - t["start_s"]) / 3600
    t["distance_km"] = np.where(bad, np.nan, dsum / 1000)
    t["period"] = period_of(t["start_s"], periods).to_numpy()
    return t.reset_index(drop=True)


def route_stats(day: BigDay, *, periods: Periods | None = None, trips: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`citybridge.service.route_stats` of the day (same columns and order).

    ``trips`` may pass an already computed :func:`trip_stats` (same periods).
    """
    t = trip_stats(day, periods=periods) if trips is None else trips
    return _route_stats(SimpleNamespace(routes=day.routes), t, periods, False)


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniq = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(uniq, dtype=object)


def stop_stats(day: BigDay, *, periods: Periods | None = None) -> pd.DataFrame:
    """:func:`citybridge.service.stop_stats` of the day (same columns and order).

    One row per stop served × period: ``stop_id``, ``stop_name``, ``period``,
    ``departures``, ``departures_one_way``, ``routes`` (counts),
    ``trips_per_hour`` (1/h), ``mean_headway_min`` (min), ``modes``.
    """
    pt = period_table(periods)
    P = len(pt)
    S = len(day.stop_ids)
    trip, stop = day.trip, day.stop
    mcode, mnames = _codes(day.trips["mode"])
    rcode, _ = _codes(day.trips["route_id"])
    dcode, _ = _codes(day.trips["direction_id"])
    M, R, D = max(len(mnames), 1), int(rcode.max(initial=0)) + 1, int(dcode.max(initial=0)) + 1
    # modes of every stop served (arrivals included), sorted names joined by commas
    pair = np.unique(stop.astype(np.int64) * M + mcode[trip])
    has = np.zeros((S, M), dtype=bool)
    has[pair // M, pair % M] = True
    modes = np.full(S, "", dtype=object)
    for m in np.argsort(mnames.astype(str)):
        modes = modes + np.where(has[:, m], mnames[m] + ",", "")
    modes = pd.Series(modes, dtype=object).str.rstrip(",").to_numpy(dtype=object)
    # departures: every stop time but the last stop (highest sequence) of its trip
    starts = day.trip_starts()
    last = np.maximum.reduceat(day.seq, starts) if len(starts) else np.zeros(0, np.int64)
    keep = day.seq < last[trip]
    per = _period_codes(day.dep[keep], pt)
    inside = per < P
    t_keep = trip[keep][inside]
    key = ((stop[keep][inside].astype(np.int64) * P + per[inside]) * R + rcode[t_keep]) * D + dcode[t_keep]
    del keep, per, inside, t_keep
    k4, n = np.unique(key, return_counts=True)
    del key
    k3 = k4 // D
    b3 = np.flatnonzero(np.r_[True, k3[1:] != k3[:-1]]) if len(k3) else np.zeros(0, np.int64)
    s3 = np.add.reduceat(n, b3) if len(b3) else np.zeros(0, np.int64)
    m3 = np.maximum.reduceat(n, b3) if len(b3) else np.zeros(0, np.int64)
    k2 = k3[b3] // R
    dep = np.bincount(k2, weights=s3, minlength=S * P).astype(np.int64)
    one = np.bincount(k2, weights=m3, minlength=S * P).astype(np.int64)
    nr = np.bincount(k2, minlength=S * P).astype(np.int64)
    minutes = np.tile(pt["minutes"].to_numpy(dtype=float), S)
    hours = minutes / 60
    names = day.stops.drop_duplicates("stop_id").set_index("stop_id")["stop_name"]
    sid = pd.Series(day.stop_ids, dtype=object)
    out = pd.DataFrame({
        "stop_id": np.repeat(day.stop_ids, P),
        "stop_name": np.repeat(sid.map(names).fillna("").to_numpy(dtype=object), P),
        "period": np.tile(pt["period"].to_numpy(dtype=object), S),
        "departures": dep, "departures_one_way": one, "routes": nr,
    })
    out["trips_per_hour"] = one / hours
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mean_headway_min"] = minutes / np.where(one > 0, one, np.nan)
    out["modes"] = np.repeat(modes, P)
    for c in ("stop_id", "stop_name", "period", "modes"):
        out[c] = out[c].astype(str)
    return out


def segment_stats(day: BigDay, *, periods: Periods | None = None) -> pd.DataFrame:
    """``speed.segment_stats(speed.segment_speeds(day), periods=periods)`` of the day.

    Same columns and order: ``from_stop_id``, ``to_stop_id``, ``mode``,
    ``period`` (``"other"`` for departures outside every period), ``trips``,
    ``routes`` (counts), ``distance_m`` (m), ``run_s`` (s), ``speed_kmh``,
    ``speed_kmh_min``, ``speed_kmh_max`` (km/h). Zero run times are merged
    with the following link(s) as :func:`citybridge.speed.segment_speeds` does.
    """
    pt = period_table(periods)
    P1 = len(pt) + 1
    lk = _links(day)
    i, j, dist = lk["i"], lk["j"], lk["dist"]
    n = len(i)
    ltrip = day.trip[i]
    run = day.arr[j] - day.dep[i]
    pos = run > 0
    starts = np.ones(n, dtype=bool)
    if n:
        starts[1:] = ltrip[1:] != ltrip[:-1]
        starts[1:] |= pos[:-1]
    bs = np.flatnonzero(starts)
    be = np.r_[bs[1:] - 1, n - 1] if n else bs
    unknown = np.isnan(dist)
    if n:
        dsum = np.add.reduceat(np.where(unknown, 0.0, dist), bs)
        dsum[np.add.reduceat(unknown.astype(np.int64), bs) > 0] = np.nan
    else:
        dsum = np.zeros(0)
    s_trip = ltrip[bs]
    s_from = day.stop[i[bs]].astype(np.int64)
    s_to = day.stop[j[be]].astype(np.int64)
    s_dep = day.dep[i[bs]]
    s_run = day.arr[j[be]] - s_dep
    ok = (s_run > 0) & ~np.isnan(dsum)
    s_trip, s_from, s_to, s_dep, s_run, dsum = (a[ok] for a in (s_trip, s_from, s_to, s_dep, s_run, dsum))
    speed = dsum / s_run * 3.6
    mcode, mnames = _codes(day.trips["mode"])
    rcode, _ = _codes(day.trips["route_id"])
    S, M = len(day.stop_ids), max(len(mnames), 1)
    per = _period_codes(s_dep, pt).astype(np.int64)
    key = ((s_from * S + s_to) * M + mcode[s_trip]) * P1 + per
    order = np.argsort(key, kind="stable")
    ks = key[order]
    gb = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]]) if len(ks) else np.zeros(0, np.int64)
    gid = np.empty(len(ks), dtype=np.int64)
    if len(ks):
        gid[order] = np.cumsum(np.r_[True, ks[1:] != ks[:-1]]) - 1
    G = len(gb)
    trips = np.bincount(gid, minlength=G).astype(np.int64)
    dist_sum = np.bincount(gid, weights=dsum, minlength=G)
    run_sum = np.bincount(gid, weights=s_run, minlength=G)
    sp = speed[order]
    smin = np.minimum.reduceat(sp, gb) if G else np.zeros(0)
    smax = np.maximum.reduceat(sp, gb) if G else np.zeros(0)
    routes = np.bincount(np.unique(gid * (int(rcode.max(initial=0)) + 1) + rcode[s_trip])
                         // (int(rcode.max(initial=0)) + 1), minlength=G).astype(np.int64)
    gkey = ks[gb]
    g_per = gkey % P1
    g_mode = gkey // P1 % M
    g_to = gkey // P1 // M % S
    g_from = gkey // P1 // M // S
    first = order[gb]  # first appearance (stable sort)
    fin = np.lexsort((first, g_to, g_from, -trips, g_per))
    pnames = np.array(list(pt["period"]) + [OTHER], dtype=object)
    out = pd.DataFrame({
        "from_stop_id": day.stop_ids[g_from[fin]],
        "to_stop_id": day.stop_ids[g_to[fin]],
        "mode": mnames[g_mode[fin]] if G else np.zeros(0, dtype=object),
        "period": pnames[g_per[fin]],
        "trips": trips[fin],
        "routes": routes[fin],
        "distance_m": dist_sum[fin] / trips[fin],
        "run_s": run_sum[fin] / trips[fin],
        "speed_kmh": dist_sum[fin] / run_sum[fin] * 3.6,
        "speed_kmh_min": smin[fin],
        "speed_kmh_max": smax[fin],
    })
    for c in ("from_stop_id", "to_stop_id", "mode", "period"):
        out[c] = out[c].astype(str)
    return out


def indicator_tables(day: BigDay, *, periods: Periods | None = None) -> dict[str, pd.DataFrame]:
    """The four indicator tables of :data:`TABLES` for the day."""
    t = trip_stats(day, periods=periods)
    return {
        "trip_stats": t,
        "stop_stats": stop_stats(day, periods=periods),
        "route_stats": route_stats(day, periods=periods, trips=t),
        "segment_stats": segment_stats(day, periods=periods),
    }


def _write(df: pd.DataFrame, path: Path, fmt: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "parquet":
        df.to_parquet(tmp, index=False)
    else:
        df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def run_indicators(feed: Path, date: str, out: Path, *, fmt: str = "parquet", datum: str = "WGS84",
                   periods: Periods | None = None) -> list[Path]:
    """Write the indicator tables of ``feed`` on ``date`` into ``out``.

    Parameters
    ----------
    feed
        A GTFS zip or folder (any size up to the archive limits of
        :mod:`citybridge.feed`).
    date
        The service date, ``YYYYMMDD``.
    out
        Output folder, created when missing; files of the same names are
        replaced.
    fmt
        ``"parquet"`` or ``"csv"``.
    datum
        Datum of the stop coordinates: ``WGS84``, ``GCJ02`` or ``BD09``.
    periods
        ``{name: ("HH:MM", "HH:MM")}``; default
        :data:`citybridge.city.DEFAULT_PERIODS`.

    Returns
    -------
    list of Path
        ``trip_stats``, ``stop_stats``, ``route_stats``, ``segment_stats``
        (in ``fmt``) and ``indicators.json`` (date, CRS, row counts and the
        notes of what was fixed while reading).

    Raises
    ------
    CitybridgeError
        An unknown format or an output folder that cannot be written.
    FeedError
        The feed cannot be read, or no trip runs on the date.
    """
    if fmt not in FORMATS:
        raise CitybridgeError(f"unknown format '{fmt}'; use parquet or csv")
    if date is None or not str(date).strip():
        raise FeedError("give the service date as YYYYMMDD (for example --date 20260317)")
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CitybridgeError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    day = read_day(Path(feed), date, datum=datum)
    tables = indicator_tables(day, periods=periods)
    paths = []
    try:
        for name in TABLES:
            p = out / f"{name}.{fmt}"
            _write(tables[name], p, fmt)
            paths.append(p)
        meta = {
            "feed": str(Path(feed)), "date": day.date, "crs": day.crs, "datum": datum,
            "periods": period_table(periods)[["period", "start", "end"]].to_dict(orient="records"),
            "stop_times": int(day.n_stop_times), "trips": int(len(day.trips)),
            "rows": {k: int(len(v)) for k, v in tables.items()},
            "notes": day.notes,
        }
        p = out / "indicators.json"
        tmp = p.with_name(".indicators.json.tmp")
        tmp.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, p)
        paths.append(p)
    except OSError as exc:
        raise CitybridgeError(f"{out}: cannot write the tables ({exc})") from None
    return paths


__all__ = ["BigDay", "TABLES", "indicator_tables", "read_day", "route_stats", "run_indicators",
           "segment_stats", "stop_stats", "trip_stats"]
