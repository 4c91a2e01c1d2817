"""Archive safety and decoding: the first stage of reading a GTFS feed.

Zip entry names, sizes, expansion ratios and the number of entries are
checked before anything is extracted (macOS resource forks are skipped, a
feed inside one sub-folder is found, a zip inside the zip is named); text is
decoded as UTF-8 (with or without BOM), UTF-16 (with BOM), GBK/GB18030 when
it looks Chinese, or else Windows-1252, and stray white space is stripped
from headers and values. A member too large to hold at once is read through
:class:`Inflater` (deflated, inflated by ISA-L) or :class:`Bounded`, which
never yield more than its declared size.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is loaded where a table is made, so the member streams need only the standard library
    import pandas as pd

from ..errors import FeedError, where
from ..texts import T, Text, TextStr, tr

#: Refuse archives whose files add up to more than this (bytes, uncompressed).
MAX_UNCOMPRESSED_BYTES = 4 * 1024**3
#: Refuse archive members that expand more than this many times.
MAX_COMPRESSION_RATIO = 200
#: Members smaller than this are not checked for ratio (tiny files compress well).
_RATIO_MIN_BYTES = 1024 * 1024
#: Refuse archives with more entries than this (a GTFS feed has about 20 files).
MAX_MEMBERS = 2000

REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")


def _is_junk(name: str) -> bool:
    """Archive entries that are not part of any feed: macOS resource forks and
    Finder files, Windows thumbnails."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    base = parts[-1] if parts else ""
    return "__MACOSX" in parts or base.startswith("._") or base in (".DS_Store", "Thumbs.db")


def check_members(zf: zipfile.ZipFile, path: Path, *, max_bytes: int, max_ratio: float) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise FeedError(f"{path}: " + tr("the archive holds {n:,} entries (limit {limit:,}); a GTFS feed has about "
                                         "20 files. Refusing to read it; zip only the feed's .txt files.",
                                         n=len(infos), limit=MAX_MEMBERS))
    total = 0
    members = []
    for info in infos:
        name = info.filename
        p = PurePosixPath(name.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":"):
            raise FeedError(f"{path}: " + tr("archive entry '{name}' points outside the archive (absolute path or "
                                             "'..'); refusing to read this zip. Re-create the zip with plain file "
                                             "names.", name=name))
        if info.is_dir():
            continue
        total += info.file_size
        if total > max_bytes:
            raise FeedError(f"{path}: " + tr("the archive expands to more than {limit:,} bytes; refusing to read it "
                                             "(possible zip bomb). If the feed is genuinely this large, unzip it "
                                             "yourself and point 'gtfs' at the folder.", limit=max_bytes))
        if info.file_size > _RATIO_MIN_BYTES and info.compress_size and \
                info.file_size / info.compress_size > max_ratio:
            raise FeedError(f"{path}: " + tr("entry '{name}' expands {ratio:,.0f} times (limit {limit}); refusing "
                                             "to read it (possible zip bomb).", name=name,
                                             ratio=info.file_size / info.compress_size, limit=str(max_ratio)))
        members.append(info)
    return members


_GB_BYTES = re.compile(rb"(?:[\x00-\x7f]|[\x81-\xfe][\x80-\xfe]|[\x81-\xfe][\x30-\x39][\x81-\xfe][\x30-\x39])*")


def _looks_chinese(data: bytes) -> bool:
    """Whether non-UTF-8 bytes read as GBK/GB18030 Chinese text.

    In Chinese text every byte above 0x80 belongs to a two-byte character
    whose second byte is also above 0x80 (GB 2312 uses 0xA1-0xFE for both;
    GB18030's rare four-byte characters are allowed too), while in
    Windows-1252 text an accented letter is mostly followed by a plain
    letter or a space. So: the bytes pair up that way, decode as GB18030,
    and at least half of the non-ASCII characters are Chinese.
    """
    sample = data[:1 << 20]  # the first megabyte decides (cut at a line end: no split character)
    if len(sample) < len(data) and b"\n" in sample:
        sample = sample[:sample.rindex(b"\n") + 1]
    if _GB_BYTES.fullmatch(sample) is None:
        return False
    try:
        text = sample.decode("gb18030")
    except UnicodeDecodeError:
        return False
    wide = re.findall(r"[^\x00-\x7f]", text)
    cjk = len(re.findall(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]", text))
    return cjk >= 2 and 2 * cjk >= len(wide)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode GTFS text: UTF-8 (BOM dropped), else GB18030 when the bytes look
    like Chinese (GBK, as Chinese spreadsheet programs save), else
    Windows-1252, else Latin-1.

    Text starting with a UTF-16 byte-order mark (as some spreadsheet programs
    save "Unicode text") is read as UTF-16. Returns the text and the encoding
    used.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _looks_chinese(data):
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def clean_csv(text: str, name: str) -> pd.DataFrame:
    """Parse one GTFS table as text columns, stripping stray white space.

    Raises :class:`FeedError` naming the file and row for unreadable CSV and
    for a header that names a column twice.
    """
    import pandas as pd

    text = text.replace("\x00", "")
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        header = []
    seen: set[str] = set()
    for col in (str(c).strip().lstrip("\ufeff") for c in header):
        if col and col in seen:
            raise FeedError(f"{where(name, col, 0)}: " + tr("the header names column '{column}' twice; remove or "
                                                            "rename one of them", column=col))
        seen.add(col)
    df = _arrow_csv(text, header)
    if df is not None:
        return df
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                         skipinitialspace=True)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise FeedError(f"{where(name, row=int(m.group(2)) - 1)}: "
                            + tr("this row has {values} values but the header has {columns} columns; check for an "
                                 "unquoted comma in a name, or a missing/extra comma", values=int(m.group(3)),
                                 columns=int(m.group(1)))) from None
        raise FeedError(f"{name}: " + tr("not a readable CSV table ({reason}); check quoting and the number of "
                                         "commas on each row", reason=str(exc).strip())) from None
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    for c in df.columns:
        df[c] = df[c].str.strip()
    return df


def _arrow_csv(text: str, header: list[str]) -> pd.DataFrame | None:
    """The table :func:`clean_csv` makes of ``text`` with pandas' reader, made by pyarrow's (several
    times faster, no Python string per value), or None where the two readers could differ: rows
    of another length than the header (pandas pads short rows and may take a first column as the
    index), a blank or repeated column name, a quoted value after spaces (pandas skips the spaces
    and reads the quotes), text that is not UTF-8 once encoded, or anything pyarrow refuses."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    names = [str(c) for c in header]
    if (not names or len(set(names)) != len(names)
            or any(not c.strip() or c.lstrip(" \t").startswith('"') for c in names)):
        return None
    try:
        data = text.encode("utf-8")
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowException, UnicodeEncodeError, ValueError):
        return None
    cols = {}
    for name in names:
        col = table.column(name)
        if col.type != pa.string() or col.null_count or pc.any(pc.match_substring_regex(col, r'^\s+"')).as_py():
            return None
        cols[name.strip().lstrip("\ufeff")] = pd.array(pc.utf8_trim_whitespace(col), dtype="str")
    if len(cols) != len(names):
        return None
    return pd.DataFrame(cols, index=pd.RangeIndex(table.num_rows))


def folder_tables(path: Path, *, max_bytes: int, notes: list[str]) -> tuple[dict[str, Path], list[str]]:
    """The ``.txt`` files of a feed folder (links and special files skipped
    with a note), checked against ``max_bytes``; and any zips it holds."""
    files: dict[str, Path] = {}
    total = 0
    for p in sorted(q for q in path.iterdir() if q.suffix.lower() == ".txt"):
        if p.is_symlink() or not p.is_file():
            notes.append(TextStr(Text.join([f"{path.name}/{p.name}: ", T("a link or special file, not read; copy "
                                                                         "the real file in")])))
            continue
        total += p.stat().st_size
        if total > max_bytes:
            raise FeedError(f"{path}: " + tr("the feed's files add up to more than {limit:,} bytes; refusing to "
                                             "read them all at once", limit=max_bytes))
        name = p.name.lower()
        if name in files:
            raise FeedError(f"{path}: " + tr("two files are named {name} ('{first}' and '{second}', differing only "
                                             "in capitals); keep one", name=name, first=files[name].name,
                                             second=p.name))
        files[name] = p
    return files, [q.name for q in path.iterdir() if q.suffix.lower() == ".zip"]


def zip_tables(zf: zipfile.ZipFile, path: Path, *, max_bytes: int, max_ratio: float
               ) -> tuple[dict[str, zipfile.ZipInfo], list[str]]:
    """The ``.txt`` members of a feed archive by base name, after the safety
    checks (paths, sizes, ratios); junk skipped, one feed only; and any zips
    nested in it."""
    members: dict[str, zipfile.ZipInfo] = {}
    inner_zips: list[str] = []
    for info in check_members(zf, path, max_bytes=max_bytes, max_ratio=max_ratio):
        if _is_junk(info.filename):
            continue
        name = PurePosixPath(info.filename.replace("\\", "/")).name.lower()  # STOPS.TXT is stops.txt
        if name.endswith(".zip"):
            inner_zips.append(info.filename)
        if not name.endswith(".txt"):
            continue
        if name in members:
            raise FeedError(f"{path}: " + tr("two entries are named {name} ('{first}' and '{second}'); the archive "
                                             "seems to hold more than one feed. Zip one feed only, with its files "
                                             "at the top level.", name=name, first=members[name].filename,
                                             second=info.filename))
        members[name] = info
    return members, inner_zips


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> bytes:
    """One archive member's bytes, refusing more than its header declares."""
    with zf.open(info) as fh:
        data = fh.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise FeedError(f"{path}: " + tr("entry '{name}' is larger than its header says; refusing to read it.",
                                         name=info.filename))
    return data


@contextmanager
def zip_errors(path: Path):
    """Turn the zipfile module's errors into one clear FeedError each."""
    try:
        yield
    except zipfile.BadZipFile as exc:
        raise FeedError(f"{path}: " + tr("not a valid zip archive ({reason}); re-download the feed or zip the "
                                         ".txt files again", reason=str(exc))) from None
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
        raise FeedError(f"{path}: " + tr("the zip archive cannot be read ({kind}: {reason}); re-create it with a "
                                         "standard zip tool (no encryption)", kind=type(exc).__name__,
                                         reason=str(exc))) from None


def require_files(path: Path, present: set[str], inner_zips: list[str]) -> None:
    """Raise when a required GTFS file is absent (hinting at a nested zip)."""
    missing = [f for f in REQUIRED_FILES if f not in present]
    if "calendar.txt" not in present and "calendar_dates.txt" not in present:
        missing.append("calendar.txt or calendar_dates.txt")
    if missing:
        hint = ""
        if inner_zips:
            hint = " " + tr("The archive holds another archive ({inner}): unzip the outer one and give the inner "
                            "zip instead.", inner=inner_zips[0])
        raise FeedError(f"{path}: " + tr("required GTFS file(s) missing: {files}; a feed needs agency, stops, "
                                         "routes, trips, stop_times and a calendar.", files=", ".join(missing)) + hint)


def read_tables(path: str | Path, *, max_bytes: int = MAX_UNCOMPRESSED_BYTES,
                max_ratio: float = MAX_COMPRESSION_RATIO) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Read every ``*.txt`` table of a GTFS zip or folder as text columns.

    Parameters
    ----------
    path
        A ``.zip`` file or a folder of ``.txt`` files. The feed may sit in
        one sub-folder of the zip; macOS resource forks (``__MACOSX/``,
        ``._*``) are ignored.
    max_bytes, max_ratio
        Zip-bomb limits: total uncompressed size and per-member expansion ratio.

    Returns
    -------
    tables, notes
        ``{"stops": DataFrame, ...}`` with every value a stripped string, and a
        list of notes (e.g. encodings other than UTF-8).

    Raises
    ------
    FeedError
        Missing file, unsafe archive, unreadable table, missing required file.
    """
    path = Path(path)
    notes: list[str] = []
    if not path.exists():
        raise FeedError(f"{path}: " + tr("GTFS feed not found; check the path (or the 'gtfs' entry of city.yml)"))
    if path.is_dir():
        files, inner_zips = folder_tables(path, max_bytes=max_bytes, notes=notes)
        raw = {name: p.read_bytes() for name, p in files.items()}
    else:
        with zip_errors(path), zipfile.ZipFile(path) as zf:
            members, inner_zips = zip_tables(zf, path, max_bytes=max_bytes, max_ratio=max_ratio)
            raw = {name: read_member(zf, info, path) for name, info in members.items()}
    require_files(path, set(raw), inner_zips)
    tables, decode_notes = decode_tables(raw, path)
    return tables, notes + decode_notes


def decode_tables(raw: dict[str, bytes], path: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Decode and parse the files of a feed (``{"stops.txt": bytes, ...}``, in that order).

    Returns
    -------
    tables, notes
        ``{"stops": DataFrame, ...}`` with every value a stripped string
        (:func:`clean_csv`), and a note for each file not read as UTF-8.
    """
    tables: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    for name, data in raw.items():
        text, enc = decode_text(data)
        if enc != "utf-8":
            notes.append(TextStr(Text.join([f"{path.name}/{name}: ", T(
                "read as {encoding} (not UTF-8); check that accented names look right, or save the file as UTF-8",
                encoding=enc)])))
        tables[name[:-4]] = clean_csv(text, f"{path}/{name}")
    return tables, notes


# --------------------------------------------------------------------------
# Streams of one member, for files too large to hold (stop_times.txt)
# --------------------------------------------------------------------------

class ReadOnlyStream:
    """The file protocol shared by the read-only member streams below
    (:class:`Inflater`, :class:`Bounded`): not seekable, closed once (closing
    the file it reads), usable in ``with``. A subclass sets ``self._raw``
    (the file read from) and ``self.closed``."""

    _raw = None
    closed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Inflater(ReadOnlyStream):
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
        self._raw = open(path, "rb")
        self._raw.seek(info.header_offset)
        head = self._raw.read(30)
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            self._raw.close()
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        n, m = struct.unpack("<HH", head[26:30])
        self._raw.seek(info.header_offset + 30 + n + m)
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
                # a sixteenth of n: under n once inflated unless the text inflates more than sixteen times
                # (GTFS text: six to ten); a larger request leaves most of its input as a tail, copied
                # again on each following call
                raw = self._raw.read(min(self._left_in, max(n >> 4, 1 << 16)))
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
            raise FeedError(f"{self._label}: " + tr("larger than its header says; refusing to read it."))
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



class Bounded(ReadOnlyStream):
    """A read-only stream that refuses to yield more than ``limit`` bytes."""

    def __init__(self, fh, limit: int, label: str):
        self._raw = fh
        self._limit = limit
        self._label = label
        self.count = 0
        self.closed = False

    def _add(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self._limit:
            raise FeedError(f"{self._label}: " + tr("larger than its header says; refusing to read it."))
        return data

    def read(self, n: int = -1) -> bytes:
        return self._add(self._raw.read(n))

    def readline(self, n: int = 1 << 20) -> bytes:
        return self._add(self._raw.readline(n))
