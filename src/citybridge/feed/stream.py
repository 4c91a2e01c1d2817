"""Streaming ``stop_times.txt`` out of a feed into integer-coded columns.

The one file of a metropolitan feed that holds millions of rows is never
turned into pandas text columns: it is streamed out of the zip (same
archive limits as :mod:`citybridge.feed.archive`) into ``pyarrow``
dictionary-encoded columns, so each distinct trip id, stop id, time and
sequence number is cleaned once. A file that pyarrow cannot take as it is
(not UTF-8, ragged rows, odd quoting) goes through the archive stage's own
CSV cleaning instead. Every other table is read by
:func:`citybridge.feed.tables.feed_tables`, as for the notebooks.

Inflating and parsing let go of the interpreter, so the file is read on
other threads: while the small tables are read (:func:`in_background`),
the next piece is inflated (:func:`read_ahead`) and two pieces are parsed
at once; the codes are taken in file order, so the columns are those of
reading piece after piece.
"""
from __future__ import annotations

import contextlib
import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FeedError
from ..texts import T, Text, TextStr, tr
from . import archive as A
from .columns import STOP_TIME_COLUMNS, STOP_TIMES, Column
from .tables import feed_tables

class _Fallback(Exception):
    """The fast CSV reader cannot take this file as it is."""


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

def _libc():
    """The C library, when it is glibc (``malloc_trim``, ``mallopt``); else False."""
    global _LIBC
    if _LIBC is None:
        import ctypes
        import ctypes.util

        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
            _LIBC.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        except (OSError, AttributeError):
            _LIBC = False
    return _LIBC


_LIBC = None
#: ``mallopt`` parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def release_memory() -> None:
    """Give memory freed after a large step back to the system.

    Arrow's allocator (which also holds pandas' text columns) and the C
    library's keep freed blocks for reuse; after reading millions of stop
    times that is hundreds of megabytes the process no longer needs, counted
    in its peak when the next step allocates elsewhere. Nothing is freed that
    is still in use; does nothing where the C library offers no
    ``malloc_trim`` (not glibc).
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    libc = _libc()
    if libc:
        libc.malloc_trim(0)


def reuse_buffers() -> None:
    """Let the C library reuse the buffers of a streamed file's pieces and
    of the day's columns.

    Each piece inflated or cut from ``stop_times.txt`` is a block of a few
    megabytes, and a column of a million stop times in 8-byte numbers about
    ten; by default glibc maps every such block afresh and unmaps it when
    freed, so each of its pages faults in again, and threads wait on each
    other's mappings (measured: inflating a 236 MB file took twice as long;
    the whole ``citybridge indicators`` run on 3.4 million stop times had
    100,000 page faults, 85,000 with this). Blocks under 12 MB are then taken
    from the heap and reused; free heap beyond 16 MB is still given back,
    and :func:`release_memory` gives back the rest. Process-wide; does
    nothing where the C library is not glibc.
    """
    libc = _libc()
    if libc:
        libc.mallopt(_M_MMAP_THRESHOLD, 12 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 16 << 20)


def dict_columns(table, names: list[str]) -> dict[str, Column]:
    """Decode the needed columns of a dictionary-encoded Arrow table, strip
    white space and merge values that become equal."""
    import pyarrow as pa

    out = {}
    table = table.unify_dictionaries()
    for name in names:
        if name not in table.column_names:
            continue
        arr = table.column(name).combine_chunks()
        if not pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_encode()
        idx = arr.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        codes, values = _clean_words(arr.dictionary)
        out[name] = Column(codes[idx] if len(idx) else idx, values)
    return out


def _clean_words(raw) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values ``raw`` (Arrow text) white-space stripped, values that become equal
    merged: the code of each value of ``raw`` and the merged values.

    Raises :class:`_Fallback` for NUL bytes or quotes after a space (pandas cleans those).
    """
    import pyarrow.compute as pc

    if len(raw) and (pc.any(pc.match_substring(raw, "\x00")).as_py()
                     or pc.any(pc.match_substring_regex(raw, r'^\s+"')).as_py()):
        raise _Fallback
    enc = pc.dictionary_encode(pc.utf8_trim_whitespace(raw))
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return codes, enc.dictionary.to_numpy(zero_copy_only=False).astype(object, copy=False)


def text_pieces(fh, size: int = 1 << 22):
    """The bytes of ``fh`` in pieces of about ``size``, each ending at a line end
    (a value holding a line break is then cut, and refused by the CSV reader)."""
    rest = b""
    while True:
        data = fh.read(size)
        if not data:
            if rest.strip():
                yield rest
            return
        buf = rest + data if rest else data
        cut = buf.rfind(b"\n") + 1
        if cut:
            yield memoryview(buf)[:cut]
            rest = buf[cut:]
        else:
            rest = buf


def in_background(fn, *args):
    """Start ``fn(*args)`` in a second thread.

    Returns
    -------
    callable
        Waits for the thread and returns what ``fn`` returned, or raises
        what it raised.
    """
    import threading

    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - raised in the waiting thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="citybridge-background", daemon=True)
    worker.start()

    def wait():
        worker.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    return wait


def read_ahead(pieces, depth: int = 2):
    """The items of the iterator ``pieces``, produced by a second thread up to
    ``depth`` items ahead of the reader (inflating the next piece of a zip
    member while the CSV reader, which releases the GIL, parses this one).

    An exception raised by ``pieces`` is raised here, at the item it stopped
    at; when the reader stops early, the producing thread stops too.
    """
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in pieces:
                if not put((item, None)):
                    return
            put((end, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
            put((end, exc))

    worker = threading.Thread(target=produce, name="citybridge-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = q.get()
            if exc is not None:
                raise exc
            if item is end:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let a producer blocked on a full queue see the stop
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(0.05)


class _Coder:
    """One column's codes gathered chunk by chunk, each chunk with its own
    dictionary; :meth:`column` unifies them into codes in order of first
    appearance (as a unified dictionary would), all vectorised.

    The codes are written into one array of ``capacity`` rows (grown when
    more come), not into a list of pieces to join at the end.
    """

    def __init__(self, capacity: int) -> None:
        self.codes = np.empty(capacity, dtype=np.int32)
        self.n = 0
        self.words: list = []
        self.ends: list[int] = []
        self.sizes: list[int] = []

    def add(self, arr) -> None:
        """Append one dictionary-encoded Arrow chunk (its indices, for now local to it)."""
        idx = arr.indices.to_numpy(zero_copy_only=False)
        end = self.n + len(idx)
        if end > len(self.codes):  # more rows than estimated: grow
            grown = np.empty(max(end, 2 * len(self.codes)), dtype=np.int32)
            grown[:self.n] = self.codes[:self.n]
            self.codes = grown
        self.codes[self.n:end] = idx
        self.n = end
        self.words.append(arr.dictionary)
        self.sizes.append(len(arr.dictionary))
        self.ends.append(end)

    def column(self) -> Column:
        """The column, white space stripped and values that become equal merged."""
        import pyarrow as pa

        import pyarrow.compute as pc

        idx = self.codes[:self.n]
        # the chunks' dictionaries repeat most values (a time or trip id seen in many chunks): one hashing
        # pass merges them; the check for UTF-8 (ArrowInvalid when not) and the cleaning then see each
        # distinct value once
        raw = pc.dictionary_encode(pa.chunked_array(self.words, type=pa.binary()).combine_chunks())
        self.words = []
        codes, values = _clean_words(raw.dictionary.cast(pa.string()))
        codes = codes[raw.indices.to_numpy(zero_copy_only=False)]
        del raw
        start = off = 0
        for end, words in zip(self.ends, self.sizes):
            part = idx[start:end]
            part[:] = codes[off:off + words][part]
            start, off = end, off + words
        return Column(idx, values)


def _header_names(fh) -> list[str]:
    """The column names on the first line of ``fh`` (read past it), as the
    fast reader takes them; :class:`_Fallback` when it cannot."""
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
    return names


def _peek_names(opener) -> list[str] | None:
    """The column names of stop_times by the fast reader, or None when it cannot take the file."""
    try:
        with opener() as fh:
            return _header_names(fh)
    except (_Fallback, csv.Error):
        return None


def _arrow_stop_times(fh, size: int) -> tuple[dict[str, Column], list[str], int]:
    """Stream stop_times through pyarrow's CSV reader, piece by piece, keeping
    only the coded :data:`STOP_TIME_COLUMNS` (never the whole text table).

    Pieces are inflated one ahead by a second thread (:func:`read_ahead`)
    and parsed two at a time (the CSV reader lets go of the interpreter);
    their codes are kept in file order.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = _header_names(fh)
    keep = [c for c in STOP_TIME_COLUMNS if c in names]
    reuse_buffers()
    # read as bytes: each distinct value is checked as UTF-8 once, when the column is made (_Coder.column)
    dtype = pa.dictionary(pa.int32(), pa.binary())
    coders: dict[str, _Coder] = {}
    n = 0
    read = pacsv.ReadOptions(column_names=names, block_size=1 << 23, use_threads=False)
    convert = pacsv.ConvertOptions(column_types={c: dtype for c in keep}, include_columns=keep,
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)

    def parse(piece) -> tuple:
        return pacsv.read_csv(pa.BufferReader(piece), read_options=read, convert_options=convert), len(piece)

    def take(parsed) -> None:
        nonlocal coders, n
        table, length = parsed.result()
        if not coders:  # rows of the whole file estimated from the first piece's bytes per row
            rows = int(size * table.num_rows / max(length, 1) * 1.25) + 1024
            coders = {c: _Coder(rows) for c in keep}
        n += table.num_rows
        for c in keep:
            for chunk in table.column(c).chunks:
                coders[c].add(chunk)

    pieces = read_ahead(text_pieces(fh))
    parsing: deque = deque()
    pool = ThreadPoolExecutor(2, thread_name_prefix="citybridge-csv")
    try:
        for piece in pieces:
            parsing.append(pool.submit(parse, piece))
            del piece
            while len(parsing) >= 2 or (parsing and parsing[0].done()):
                take(parsing.popleft())
        while parsing:
            take(parsing.popleft())
        # each column's dictionaries unified two at a time (Arrow's kernels let go of the interpreter)
        done = {c: pool.submit((coders.pop(c) if coders else _Coder(0)).column) for c in keep}
        columns = {c: f.result() for c, f in done.items()}
    except pa.ArrowInvalid as exc:
        if isinstance(exc.__context__, FeedError):
            raise exc.__context__ from None
        raise _Fallback from None
    finally:
        for parsed in parsing:
            parsed.cancel()
        pool.shutdown(wait=True)
        pieces.close()  # the reading thread stops before the file is closed
    return columns, names, n


def _read_stop_times(opener, size: int, label: str, feed_name: str) -> tuple[dict[str, Column], list[str], int, list[str]]:
    """Columns, column names, row count and notes of stop_times.txt.

    Fast path: pyarrow; fallback: :func:`citybridge.feed.clean_csv` (the
    notebook path's own cleaning), for files pyarrow cannot take as they are
    (not UTF-8, ragged rows, odd quoting).
    """
    import pyarrow as pa

    try:
        with opener() as fh:
            cols, names, n = _arrow_stop_times(fh, size)
        return cols, names, n, []
    except (_Fallback, pa.ArrowInvalid, UnicodeDecodeError, csv.Error):
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


def read_coded(path: Path, *, datum: str, max_bytes: int, max_ratio: float):
    """Read a feed safely: every table but stop_times through
    :func:`citybridge.feed.tables.feed_tables`, stop_times as code columns.

    Returns ``(feed, columns, names, notes)``.
    """
    if not path.exists():
        raise FeedError(f"{path}: " + tr("GTFS feed not found; check the path (or the 'gtfs' entry of city.yml)"))
    small: dict[str, bytes] = {}
    notes: list[str] = []
    inner_zips: list[str] = []

    def finish(opener, size: int, label: str):
        A.require_files(path, set(small) | ({STOP_TIMES} if opener is not None else set()), inner_zips)
        first = _peek_names(opener)
        if first is None:  # not for the fast reader: its column names are known once it is read
            cols, names, _n, nt = _read_stop_times(opener, size, label, path.name)
            return _read_small_feed(path, small, names, datum), cols, names, notes + nt
        # stop_times streamed by a second thread (inflating and parsing let go of the interpreter)
        # while this one reads the small tables; an error of theirs comes first, as read in turn
        stop_times = in_background(_read_stop_times, opener, size, label, path.name)
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
        return finish(opener, st_info.file_size, label)


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
