"""Reading a feed with its stop times as integer-coded columns.

:func:`read_coded` reads every table but ``stop_times.txt`` through
:func:`citybridge.feed.tables.feed_tables` (as for the notebooks) while
``stop_times.txt`` is streamed into coded columns on other threads
(:mod:`citybridge.feed.stream`); a file the fast reader cannot take (not
UTF-8, ragged rows, odd quoting) goes through the archive stage's own CSV
cleaning instead. :func:`citybridge.feed.read_day` builds the service day
from what it returns.
"""
from __future__ import annotations

import contextlib
import csv
import io
import zipfile
from pathlib import Path

import pandas as pd

from ..errors import FeedError
from ..texts import T, Text, TextStr, tr
from . import archive as A
from .stream import (STOP_TIME_COLUMNS, STOP_TIMES, Column, NotForFastReader, StopTimesStream, arrow_stop_times,
                     dict_columns, in_background, peek_names)
from .tables import feed_tables


def _read_stop_times(opener, size: int, label: str, feed_name: str, started: StopTimesStream | None = None
                     ) -> tuple[dict[str, Column], list[str], int, list[str]]:
    """Columns, column names, row count and notes of stop_times.txt.

    Fast path: pyarrow (the ``started`` stream's result when given);
    fallback: :func:`citybridge.feed.clean_csv` (the notebook path's own
    cleaning), for files pyarrow cannot take as they are (not UTF-8, ragged
    rows, odd quoting).
    """
    import pyarrow as pa

    try:
        if started is not None:
            cols, names, n = started.result()
        else:
            with opener() as fh:
                cols, names, n = arrow_stop_times(fh, size)
        return cols, names, n, []
    except (NotForFastReader, pa.ArrowInvalid, UnicodeDecodeError, csv.Error):
        pass
    with opener() as fh:
        data = fh.read(size + 1)
    if len(data) > size:
        raise FeedError(f"{label}: " + tr("larger than its header says; refusing to read it."))
    text, enc = A.decode_text(data)
    del data
    notes = []
    if enc != "utf-8":
        notes.append(TextStr(Text.join([f"{feed_name}/{STOP_TIMES}: ", T(
            "read as {encoding} (not UTF-8); check that accented names look right, or save the file as UTF-8",
            encoding=enc)])))
    df = A.clean_csv(text, label)
    del text
    names = [str(c) for c in df.columns]
    table = pa.table({c: pa.array(df[c].fillna("").astype(str).to_numpy(dtype=object), type=pa.string())
                      for c in names if c in STOP_TIME_COLUMNS})
    return dict_columns(table, list(table.column_names)), names, len(df), notes


def read_coded(path: Path, *, datum: str, max_bytes: int, max_ratio: float,
               stop_times: StopTimesStream | None = None):
    """Read a feed safely: every table but stop_times through
    :func:`citybridge.feed.tables.feed_tables`, stop_times as code columns.

    ``stop_times``, a stream already started on this feed
    (:func:`citybridge.feed.stream.start_stop_times`), is used when it reads
    the same member under the same limits, else cancelled.

    Returns ``(feed, columns, names, notes)``.
    """
    try:
        return _read_coded(path, datum=datum, max_bytes=max_bytes, max_ratio=max_ratio, started=stop_times)
    finally:
        if stop_times is not None:
            stop_times.cancel()  # nothing when it was used and ran to its end


def _read_coded(path: Path, *, datum: str, max_bytes: int, max_ratio: float, started: StopTimesStream | None):
    if not path.exists():
        raise FeedError(f"{path}: " + tr("GTFS feed not found; check the path (or the 'gtfs' entry of city.yml)"))
    small: dict[str, bytes] = {}
    notes: list[str] = []
    inner_zips: list[str] = []

    def finish(opener, size: int, label: str, started: StopTimesStream | None = None):
        A.require_files(path, set(small) | ({STOP_TIMES} if opener is not None else set()), inner_zips)
        first = peek_names(opener)
        if first is None:  # not for the fast reader: its column names are known once it is read
            cols, names, _n, nt = _read_stop_times(opener, size, label, path.name)
            return _read_small_feed(path, small, names, datum), cols, names, notes + nt
        # stop_times streamed by a second thread (inflating and parsing let go of the interpreter)
        # while this one reads the small tables; an error of theirs comes first, as read in turn
        stop_times = in_background(_read_stop_times, opener, size, label, path.name, started)
        try:
            fd = _read_small_feed(path, small, first, datum)
        except BaseException:
            with contextlib.suppress(Exception):
                stop_times()
            raise
        cols, names, _n, nt = stop_times()
        if names != first:
            fd = _read_small_feed(path, small, names, datum)
        return fd, cols, names, notes + nt

    if path.is_dir():
        files, inner_zips = A.folder_tables(path, max_bytes=max_bytes, notes=notes)
        st_path = files.pop(STOP_TIMES, None)
        small.update({name: p.read_bytes() for name, p in files.items()})
        try:
            if st_path is None:
                return finish(None, 0, "")
            size = st_path.stat().st_size
            return finish(lambda: A.Bounded(open(st_path, "rb"), size, str(st_path)), size, str(st_path))
        except OSError as exc:
            raise FeedError(f"{path}/{STOP_TIMES}: " + tr("cannot be read ({reason})",
                                                          reason=str(exc.strerror or exc))) from None
    with A.zip_errors(path), zipfile.ZipFile(path) as zf:
        members, inner_zips = A.zip_tables(zf, path, max_bytes=max_bytes, max_ratio=max_ratio)
        st_info = members.pop(STOP_TIMES, None)
        small.update({name: A.read_member(zf, info, path) for name, info in members.items()})
        if st_info is None:
            return finish(None, 0, "")
        label = f"{path}/{st_info.filename}"
        if st_info.compress_type == zipfile.ZIP_DEFLATED and not st_info.flag_bits & 0x1:
            def opener():
                return A.Inflater(path, st_info, label)
        else:
            def opener():
                return A.Bounded(zf.open(st_info), st_info.file_size, label)
        if started is not None and not started.serves(path, st_info, max_bytes, max_ratio):
            started = None
        return finish(opener, st_info.file_size, label, started)


def _read_small_feed(path: Path, small: dict[str, bytes], st_names: list[str], datum: str):
    """Every table but stop_times through :func:`citybridge.feed.tables.feed_tables` (stop_times as
    its header only, so its columns are checked too), in the order a folder's files are read."""
    hdr = io.StringIO()
    csv.writer(hdr, lineterminator="\n").writerow(st_names)
    raw = {**small, STOP_TIMES: hdr.getvalue().encode("utf-8")}
    tables, notes = A.decode_tables({name: raw[name] for name in sorted(raw)}, path)
    fd = feed_tables(tables, notes, path, datum=datum)
    # a header-only table is absent from the typed tables; keep an empty one with the real columns
    fd.stop_times = pd.DataFrame({c: pd.Series(dtype=object) for c in st_names})
    return fd
