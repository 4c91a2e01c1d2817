"""Streaming ``stop_times.txt`` out of a feed into integer-coded columns.

The one file of a metropolitan feed that holds millions of rows is never
turned into pandas text columns: it is streamed out of the zip (same
archive limits as :mod:`citybridge.feed.archive`) into ``pyarrow``
dictionary-encoded columns (:class:`Column`), so each distinct trip id,
stop id, time and sequence number is cleaned once
(:func:`arrow_stop_times`). A file that pyarrow cannot take as it is (not
UTF-8, ragged rows, odd quoting) raises :class:`NotForFastReader`, and
:func:`citybridge.feed.coded.read_coded` reads it with the archive stage's
own CSV cleaning instead.

Inflating and parsing let go of the interpreter, so the file is read on
other threads: the next piece is inflated (:func:`read_ahead`) while two
pieces are parsed at once; the codes are taken in file order, so the
columns are those of reading piece after piece.

This module needs numpy and pyarrow only, not pandas: ``citybridge
indicators`` starts the stream (:func:`start_stop_times`) before the rest of
the workbook is loaded, so the two overlap.
"""
from __future__ import annotations

import csv
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FeedError
from . import archive as A

#: The file and the columns of it that the service day uses.
STOP_TIMES = "stop_times.txt"
STOP_TIME_COLUMNS = ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time",
                     "shape_dist_traveled")


class NotForFastReader(Exception):
    """The fast CSV reader cannot take this file as it is (read it with the archive stage's cleaning)."""


class Cancelled(Exception):
    """A stream was stopped before its end (:meth:`StopTimesStream.cancel`)."""


@dataclass
class Column:
    """One dictionary-encoded text column: ``values[codes]`` is the cleaned text.

    Attributes
    ----------
    codes : ndarray of int32
        One code per row.
    values : ndarray of object
        The distinct stripped strings.
    """

    codes: np.ndarray
    values: np.ndarray


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

    Raises :class:`NotForFastReader` for NUL bytes or quotes after a space (pandas cleans those).
    """
    import pyarrow.compute as pc

    if len(raw) and (pc.any(pc.match_substring(raw, "\x00")).as_py()
                     or pc.any(pc.match_substring_regex(raw, r'^\s+"')).as_py()):
        raise NotForFastReader
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
    fast reader takes them; :class:`NotForFastReader` when it cannot."""
    header = fh.readline(1 << 20)
    if header[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise NotForFastReader  # UTF-16
    try:
        line = header.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotForFastReader from None
    names = [c.strip().lstrip("\ufeff") for c in next(csv.reader([line]), [])]
    if not names or len(set(names)) != len(names):
        raise NotForFastReader
    return names


def peek_names(opener) -> list[str] | None:
    """The column names of stop_times by the fast reader, or None when it cannot take the file."""
    try:
        with opener() as fh:
            return _header_names(fh)
    except (NotForFastReader, csv.Error):
        return None


def arrow_stop_times(fh, size: int, *, stop: threading.Event | None = None
                     ) -> tuple[dict[str, Column], list[str], int]:
    """Stream stop_times through pyarrow's CSV reader, piece by piece, keeping
    only the coded :data:`STOP_TIME_COLUMNS` (never the whole text table).

    Pieces are inflated one ahead by a second thread (:func:`read_ahead`)
    and parsed two at a time (the CSV reader lets go of the interpreter);
    their codes are kept in file order.

    Parameters
    ----------
    fh
        The file, at its start (its header is read here).
    size
        Its size in bytes (to size the code arrays).
    stop
        When set, reading stops at the next piece (:class:`Cancelled`).

    Returns
    -------
    columns, names, rows
        The coded columns by name, every column name of the file, and its
        number of rows.

    Raises
    ------
    NotForFastReader
        The file is not for this reader (see the module notes).
    FeedError
        The member is larger than its header says.
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
            if stop is not None and stop.is_set():
                raise Cancelled
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
        raise NotForFastReader from None
    finally:
        for parsed in parsing:
            parsed.cancel()
        pool.shutdown(wait=True)
        pieces.close()  # the reading thread stops before the file is closed
    return columns, names, n




# --------------------------------------------------------------------------
# Starting early
# --------------------------------------------------------------------------

class StopTimesStream:
    """``stop_times.txt`` of a zip feed being read into coded columns on other
    threads, started by :func:`start_stop_times`; the feed's reading
    (:func:`citybridge.feed.coded.read_coded`) takes its result when it
    :meth:`serves` the same member with the same limits."""

    def __init__(self, path: Path, info: zipfile.ZipInfo, max_bytes: int, max_ratio: float) -> None:
        self.path, self.info, self.limits = path, info, (max_bytes, max_ratio)
        st = path.stat()
        self._stamp = (st.st_size, st.st_mtime_ns)
        self._stop = threading.Event()
        self._result = in_background(self._read, f"{path}/{info.filename}")

    def _read(self, label: str) -> tuple[dict[str, Column], list[str], int]:
        with A.Inflater(self.path, self.info, label) as fh:
            return arrow_stop_times(fh, self.info.file_size, stop=self._stop)

    def serves(self, path: Path, info: zipfile.ZipInfo, max_bytes: int, max_ratio: float) -> bool:
        """Whether this stream reads the member ``info`` of ``path``, unchanged, under the same limits."""
        try:
            st = path.stat()
        except OSError:
            return False
        mine = self.info
        return (path.resolve() == self.path.resolve() and (st.st_size, st.st_mtime_ns) == self._stamp
                and (max_bytes, max_ratio) == self.limits
                and (info.filename, info.header_offset, info.CRC, info.compress_size, info.file_size)
                == (mine.filename, mine.header_offset, mine.CRC, mine.compress_size, mine.file_size))

    def result(self) -> tuple[dict[str, Column], list[str], int]:
        """What :func:`arrow_stop_times` returned (waits for it), or raises what it raised."""
        return self._result()

    def cancel(self) -> None:
        """Stop reading (at the next piece) and wait for the threads; a finished stream is left as it is."""
        self._stop.set()
        try:
            self._result()
        except BaseException:  # noqa: BLE001 - whatever it raised is no longer wanted
            pass


def start_stop_times(path: str | Path, *, max_bytes: int = A.MAX_UNCOMPRESSED_BYTES,
                     max_ratio: float = A.MAX_COMPRESSION_RATIO) -> StopTimesStream | None:
    """Start reading ``stop_times.txt`` of the zip feed ``path`` on other threads.

    Only a deflated member of an archive that passes the archive checks
    (:func:`citybridge.feed.archive.zip_tables`, the same limits) is
    started; for anything else (a folder, a missing or unreadable file, a
    stored or encrypted member) returns None and the reading proper does
    everything, reporting what is wrong. Needs no pandas, so a command can
    start it before loading the rest of the workbook. Pass the stream to
    :func:`citybridge.feed.read_day` (``stop_times=``); cancel it if it is
    not used.
    """
    path = Path(path)
    try:
        if not path.is_file():
            return None
        with zipfile.ZipFile(path) as zf:
            members, _ = A.zip_tables(zf, path, max_bytes=max_bytes, max_ratio=max_ratio)
    except Exception:  # noqa: BLE001 - the reading proper reports it, in its order
        return None
    info = members.get(STOP_TIMES)
    if info is None or info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        return None
    return StopTimesStream(path, info, max_bytes, max_ratio)
