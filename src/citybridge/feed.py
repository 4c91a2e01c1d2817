"""Reading GTFS safely and preparing one service day for analysis.

This module owns everything between a trainer's GTFS zip and the tables the
indicator modules use:

* safe reading: zip entry names, sizes, expansion ratios and the number of
  entries are checked before anything is extracted (macOS resource forks are
  skipped, a feed inside one sub-folder is found, a zip inside the zip is
  named); text is decoded as UTF-8 (with or without BOM), UTF-16 (with BOM)
  or, failing that, Windows-1252, and stray white space is stripped from
  headers and values;
* refusing what cannot be used, with the file, column and row: missing
  required files or columns, blank keys, unreadable stop sequences, dates,
  route types and calendar flags, coordinates out of range, swapped or at 0,0,
  a header naming a column twice, a row with too many values;
* repairing what can be repaired, with a note: unreadable values in optional
  numeric columns are blanked, entrances and nodes without coordinates are
  placed at their parent station;
* datum conversion: stops published in GCJ-02 or BD-09 (declared in
  ``city.yml``) are converted to WGS-84 with ``prcoords``;
* the service day: calendar and calendar_dates are honoured, trips from
  ``frequencies.txt`` are expanded into concrete trips, times past 24:00 are
  kept as seconds after midnight of the service day, blank intermediate
  times are interpolated.

The central object is :class:`FeedDay`, built by :func:`feed_day`.
"""
from __future__ import annotations

import csv
import datetime as dt
from contextlib import contextmanager
import io
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from .errors import FeedError, where

#: Refuse archives whose files add up to more than this (bytes, uncompressed).
MAX_UNCOMPRESSED_BYTES = 4 * 1024**3
#: Refuse archive members that expand more than this many times.
MAX_COMPRESSION_RATIO = 200
#: Members smaller than this are not checked for ratio (tiny files compress well).
_RATIO_MIN_BYTES = 1024 * 1024
#: Refuse archives with more entries than this (a GTFS feed has about 20 files).
MAX_MEMBERS = 2000

REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")

#: GTFS route_type to the mode names used throughout the workbook.
_BASIC_MODES = {0: "tram", 1: "metro", 2: "rail", 3: "bus", 4: "ferry", 5: "tram",
                6: "aerial", 7: "funicular", 11: "bus", 12: "metro"}

#: Modes UN-Habitat counts as high-capacity for SDG 11.2.1 (1,000 m catchment).
HIGH_CAPACITY_MODES = frozenset({"metro", "rail", "ferry"})


def mode_of(route_type: pd.Series) -> pd.Series:
    """Map GTFS ``route_type`` (basic or extended) to a mode name.

    Returns one of ``metro``, ``rail``, ``bus``, ``tram``, ``ferry``,
    ``aerial``, ``funicular`` or ``other`` for each value.
    """
    rt = pd.to_numeric(route_type, errors="coerce").fillna(-1).astype(int)
    out = rt.map(_BASIC_MODES)
    ext = out.isna()
    r = rt[ext]
    ext_mode = np.select(
        [(r >= 100) & (r < 200), (r >= 400) & (r < 500), (r >= 700) & (r < 800),
         r == 800, (r >= 900) & (r < 1000), (r == 1000) | (r == 1200), r == 1300, r == 1400],
        ["rail", "metro", "bus", "bus", "tram", "ferry", "aerial", "funicular"],
        default="other")
    out[ext] = ext_mode
    return out.astype(str)


# --------------------------------------------------------------------------
# Safe reading
# --------------------------------------------------------------------------

def _is_junk(name: str) -> bool:
    """Archive entries that are not part of any feed: macOS resource forks and
    Finder files, Windows thumbnails."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    base = parts[-1] if parts else ""
    return "__MACOSX" in parts or base.startswith("._") or base in (".DS_Store", "Thumbs.db")


def _check_members(zf: zipfile.ZipFile, path: Path, *, max_bytes: int, max_ratio: float) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise FeedError(f"{path}: the archive holds {len(infos):,} entries (limit {MAX_MEMBERS:,}); "
                        "a GTFS feed has about 20 files. Refusing to read it; zip only the feed's "
                        ".txt files.")
    total = 0
    members = []
    for info in infos:
        name = info.filename
        p = PurePosixPath(name.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":"):
            raise FeedError(f"{path}: archive entry '{name}' points outside the archive "
                            "(absolute path or '..'); refusing to read this zip. "
                            "Re-create the zip with plain file names.")
        if info.is_dir():
            continue
        total += info.file_size
        if total > max_bytes:
            raise FeedError(f"{path}: the archive expands to more than {max_bytes:,} bytes; "
                            "refusing to read it (possible zip bomb). If the feed is genuinely "
                            "this large, unzip it yourself and point 'gtfs' at the folder.")
        if info.file_size > _RATIO_MIN_BYTES and info.compress_size and \
                info.file_size / info.compress_size > max_ratio:
            raise FeedError(f"{path}: entry '{name}' expands {info.file_size / info.compress_size:,.0f} "
                            f"times (limit {max_ratio}); refusing to read it (possible zip bomb).")
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


def _clean_csv(text: str, name: str) -> pd.DataFrame:
    """Parse one GTFS table as text columns, stripping stray white space.

    Raises :class:`FeedError` naming the file and row for unreadable CSV and
    for a header that names a column twice.
    """
    text = text.replace("\x00", "")
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        header = []
    seen: set[str] = set()
    for col in (str(c).strip().lstrip("\ufeff") for c in header):
        if col and col in seen:
            raise FeedError(f"{where(name, col, 0)}: the header names column '{col}' twice; "
                            "remove or rename one of them")
        seen.add(col)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                         skipinitialspace=True)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise FeedError(f"{where(name, row=int(m.group(2)) - 1)}: this row has {m.group(3)} "
                            f"values but the header has {m.group(1)} columns; check for an "
                            "unquoted comma in a name, or a missing/extra comma") from None
        raise FeedError(f"{name}: not a readable CSV table ({str(exc).strip()}); check quoting and "
                        "the number of commas on each row") from None
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    for c in df.columns:
        df[c] = df[c].str.strip()
    return df


def folder_tables(path: Path, *, max_bytes: int, notes: list[str]) -> tuple[dict[str, Path], list[str]]:
    """The ``.txt`` files of a feed folder (links and special files skipped
    with a note), checked against ``max_bytes``; and any zips it holds."""
    files: dict[str, Path] = {}
    total = 0
    for p in sorted(q for q in path.iterdir() if q.suffix.lower() == ".txt"):
        if p.is_symlink() or not p.is_file():
            notes.append(f"{path.name}/{p.name}: a link or special file, not read; copy the real file in")
            continue
        total += p.stat().st_size
        if total > max_bytes:
            raise FeedError(f"{path}: the feed's files add up to more than {max_bytes:,} bytes; "
                            "refusing to read them all at once")
        name = p.name.lower()
        if name in files:
            raise FeedError(f"{path}: two files are named {name} ('{files[name].name}' and '{p.name}', "
                            "differing only in capitals); keep one")
        files[name] = p
    return files, [q.name for q in path.iterdir() if q.suffix.lower() == ".zip"]


def zip_tables(zf: zipfile.ZipFile, path: Path, *, max_bytes: int, max_ratio: float
               ) -> tuple[dict[str, zipfile.ZipInfo], list[str]]:
    """The ``.txt`` members of a feed archive by base name, after the safety
    checks (paths, sizes, ratios); junk skipped, one feed only; and any zips
    nested in it."""
    members: dict[str, zipfile.ZipInfo] = {}
    inner_zips: list[str] = []
    for info in _check_members(zf, path, max_bytes=max_bytes, max_ratio=max_ratio):
        if _is_junk(info.filename):
            continue
        name = PurePosixPath(info.filename.replace("\\", "/")).name.lower()  # STOPS.TXT is stops.txt
        if name.endswith(".zip"):
            inner_zips.append(info.filename)
        if not name.endswith(".txt"):
            continue
        if name in members:
            raise FeedError(f"{path}: two entries are named {name} ('{members[name].filename}' and "
                            f"'{info.filename}'); the archive seems to hold more than one "
                            "feed. Zip one feed only, with its files at the top level.")
        members[name] = info
    return members, inner_zips


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> bytes:
    """One archive member's bytes, refusing more than its header declares."""
    with zf.open(info) as fh:
        data = fh.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise FeedError(f"{path}: entry '{info.filename}' is larger than its "
                        "header says; refusing to read it.")
    return data


@contextmanager
def zip_errors(path: Path):
    """Turn the zipfile module's errors into one clear FeedError each."""
    try:
        yield
    except zipfile.BadZipFile as exc:
        raise FeedError(f"{path}: not a valid zip archive ({exc}); re-download the feed or zip "
                        "the .txt files again") from None
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
        raise FeedError(f"{path}: the zip archive cannot be read ({type(exc).__name__}: {exc}); "
                        "re-create it with a standard zip tool (no encryption)") from None


def require_files(path: Path, present: set[str], inner_zips: list[str]) -> None:
    """Raise when a required GTFS file is absent (hinting at a nested zip)."""
    missing = [f for f in REQUIRED_FILES if f not in present]
    if "calendar.txt" not in present and "calendar_dates.txt" not in present:
        missing.append("calendar.txt or calendar_dates.txt")
    if missing:
        hint = ""
        if inner_zips:
            hint = (f" The archive holds another archive ({inner_zips[0]}): unzip the outer one and give "
                    "the inner zip instead.")
        raise FeedError(f"{path}: required GTFS file(s) missing: {', '.join(missing)}; "
                        "a feed needs agency, stops, routes, trips, stop_times and a calendar." + hint)


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
        raise FeedError(f"{path}: GTFS feed not found; check the path (or the 'gtfs' entry of city.yml)")
    if path.is_dir():
        files, inner_zips = folder_tables(path, max_bytes=max_bytes, notes=notes)
        raw = {name: p.read_bytes() for name, p in files.items()}
    else:
        with zip_errors(path), zipfile.ZipFile(path) as zf:
            members, inner_zips = zip_tables(zf, path, max_bytes=max_bytes, max_ratio=max_ratio)
            raw = {name: read_member(zf, info, path) for name, info in members.items()}
    require_files(path, set(raw), inner_zips)
    tables: dict[str, pd.DataFrame] = {}
    for name, data in raw.items():
        text, enc = decode_text(data)
        if enc != "utf-8":
            notes.append(f"{path.name}/{name}: read as {enc} (not UTF-8); check that accented names "
                         "look right, or save the file as UTF-8")
        tables[name[:-4]] = _clean_csv(text, f"{path}/{name}")
    return tables, notes


#: Columns a table must have (when the table is present) for the workbook to use it.
REQUIRED_COLUMNS = {
    "stops": ["stop_id", "stop_lat", "stop_lon"],
    "routes": ["route_id", "route_type"],
    "trips": ["route_id", "service_id", "trip_id"],
    "stop_times": ["trip_id", "stop_id", "stop_sequence"],
    "calendar": ["service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                 "sunday", "start_date", "end_date"],
    "calendar_dates": ["service_id", "date", "exception_type"],
    "frequencies": ["trip_id", "start_time", "end_time", "headway_secs"],
}


def _first_row(mask: pd.Series) -> int:
    """1-based data row of the first True value."""
    return int(np.flatnonzero(mask.to_numpy())[0]) + 1


def _no_rows(src: Path, tab: str) -> str:
    return (f"{src}/{tab}.txt: the file has a header but no rows; export the table again from the source "
            "system (a feed needs at least one row in it)")


def require_rows(feed, src: str | Path) -> None:
    """Raise :class:`FeedError` when ``stop_times.txt`` of a read feed has no rows.

    (:func:`read_feed` checks stops, routes and trips itself; stop times are
    checked here because the fast indicators reader passes them separately.)
    """
    st = getattr(feed, "stop_times", None)
    if st is None or st.empty:
        raise FeedError(_no_rows(Path(src), "stop_times"))


def _require_columns(tables: dict[str, pd.DataFrame], src: Path) -> None:
    """Refuse tables the workbook cannot use: missing required columns,
    blank keys, unreadable stop sequences and dates (file, column and row named)."""
    for tab, cols in REQUIRED_COLUMNS.items():
        if tab not in tables:
            continue
        df = tables[tab]
        if df.columns.empty and tab in ("stops", "routes", "trips", "stop_times"):
            raise FeedError(f"{src}/{tab}.txt: the file is empty (no header row); export the table "
                            "again from the source system")
        for c in cols:
            if c not in df.columns:
                raise FeedError(f"{where(f'{src}/{tab}.txt', c)}: required column is missing; "
                                "add it (see the GTFS reference)")
        if df.empty and tab in ("stops", "routes", "trips"):
            raise FeedError(_no_rows(src, tab))
    for tab, key in (("stops", "stop_id"), ("routes", "route_id"), ("trips", "trip_id"),
                     ("stop_times", "trip_id"), ("stop_times", "stop_id"), ("trips", "route_id"),
                     ("trips", "service_id")):
        df = tables[tab]
        blank = df[key] == ""
        if blank.any():
            raise FeedError(f"{where(f'{src}/{tab}.txt', key, _first_row(blank))}: the {key} is blank "
                            f"({int(blank.sum()):,} row(s)); every row needs one")
    st = tables["stop_times"]
    seq = pd.to_numeric(st["stop_sequence"], errors="coerce")
    bad = seq.isna() | (seq < 0) | (seq != seq.round())
    if bad.any():
        i = _first_row(bad)
        raise FeedError(f"{where(f'{src}/stop_times.txt', 'stop_sequence', i)}: "
                        f"'{st['stop_sequence'].iloc[i - 1]}' is not a whole number "
                        f"({int(bad.sum()):,} row(s)); stop_sequence orders the stops of a trip: write 1, 2, 3, …")
    if "arrival_time" not in st.columns and "departure_time" not in st.columns:
        raise FeedError(f"{where(f'{src}/stop_times.txt', 'departure_time')}: neither arrival_time nor "
                        "departure_time is present; the timetable needs times")
    for tab, cols in (("calendar", ("start_date", "end_date")), ("calendar_dates", ("date",))):
        df = tables.get(tab)
        if df is None or df.empty:
            continue
        for c in cols:
            ok = df[c].str.fullmatch(r"\d{8}") & pd.to_datetime(df[c], format="%Y%m%d", errors="coerce").notna()
            if not ok.all():
                i = _first_row(~ok)
                raise FeedError(f"{where(f'{src}/{tab}.txt', c, i)}: '{df[c].iloc[i - 1]}' is not a date "
                                "written YYYYMMDD (for example 20260317)")


#: Numeric columns whose unreadable values make the feed unusable (the rest are blanked with a note).
_STRICT_NUMBERS = {
    ("routes", "route_type"): "a GTFS route type such as 3 (bus) or 1 (metro)",
    ("trips", "direction_id"): "0 or 1 (or leave it blank)",
    ("stops", "location_type"): "0 (stop), 1 (station), 2, 3 or 4 (or leave it blank)",
    ("calendar_dates", "exception_type"): "1 (service added) or 2 (service removed)",
    ("frequencies", "headway_secs"): "the headway in seconds, e.g. 600",
    **{("calendar", d): "1 (runs that day) or 0" for d in
       ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
}
_INT_LIMITS = {"Int8": 2**7, "Int16": 2**15, "Int32": 2**31, "Int64": 2**63}


def _coerce_numbers(tables: dict[str, pd.DataFrame], src: Path) -> list[str]:
    """Make every column gtfs-kit reads as a number readable as one.

    Integer columns are rewritten as plain integers ("1.0" becomes "1").
    Unreadable values in the columns of :data:`_STRICT_NUMBERS` raise
    :class:`FeedError` naming file, column and row; elsewhere (optional
    columns such as wheelchair_boarding) they are blanked and noted.
    """
    from gtfs_kit.constants import DTYPES

    notes: list[str] = []
    for tab, df in tables.items():
        types = DTYPES.get(tab, {})
        for col, typ in types.items():
            if col not in df.columns or typ == "string" or col in ("stop_lat", "stop_lon", "stop_sequence"):
                continue
            v = df[col]
            num = pd.to_numeric(v, errors="coerce")
            blank = v == ""
            is_int = typ.startswith("Int")
            bad = ~blank & num.isna()
            if is_int:
                lim = _INT_LIMITS.get(typ, 2**31)
                bad |= ~blank & num.notna() & ((num != num.round()) | (num.abs() >= lim))
            if bad.any():
                i = _first_row(bad)
                what = _STRICT_NUMBERS.get((tab, col))
                if what is not None:
                    raise FeedError(f"{where(f'{src}/{tab}.txt', col, i)}: '{v.iloc[i - 1]}' is not a valid "
                                    f"value ({int(bad.sum()):,} row(s)); write {what}")
                notes.append(f"{src.name}/{tab}.txt, column '{col}': {int(bad.sum()):,} value(s) that are not "
                             f"numbers (first '{v.iloc[i - 1]}', row {i}) were ignored")
                df.loc[bad, col] = ""
                num = num.where(~bad)
            if is_int:
                ok = num.notna()
                if ok.any():
                    df.loc[ok, col] = num[ok].astype("int64").astype(str)
    return notes


def _check_coordinates(stops: pd.DataFrame, src: Path) -> pd.DataFrame:
    lat = pd.to_numeric(stops["stop_lat"], errors="coerce")
    lon = pd.to_numeric(stops["stop_lon"], errors="coerce")
    # Stations' children or generic nodes may lack coordinates; stops may not
    lt = stops.get("location_type", pd.Series("", index=stops.index)).replace("", "0")
    needs = lt.isin(["0", "1"])
    bad = needs & (lat.isna() | lon.isna())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        col = "stop_lat" if pd.isna(lat.iloc[i]) else "stop_lon"
        raise FeedError(f"{where(f'{src}/stops.txt', col, i + 1)}: stop "
                        f"'{stops['stop_id'].iloc[i]}' has no readable coordinate "
                        f"('{stops[col].iloc[i]}'); write decimal degrees")
    out = (lat.abs() > 90) | (lon.abs() > 180)
    if out.any():
        i = int(np.flatnonzero(out.to_numpy())[0])
        swapped = abs(lat.iloc[i]) <= 180 and abs(lon.iloc[i]) <= 90
        hint = ("the latitude and longitude columns look swapped; exchange them"
                if swapped else "coordinates must be WGS-84 decimal degrees")
        raise FeedError(f"{where(f'{src}/stops.txt', 'stop_lat', i + 1)}: stop "
                        f"'{stops['stop_id'].iloc[i]}' is out of range "
                        f"(lat {lat.iloc[i]}, lon {lon.iloc[i]}); {hint}")
    # a stop whose coordinates, exchanged, land among the other stops was swapped
    if needs.sum() >= 3:
        mlat, mlon = lat[needs].median(), lon[needs].median()
        far = needs & (((lat - mlat).abs() > 2) | ((lon - mlon).abs() > 2))
        back = ((lon - mlat).abs() < 1) & ((lat - mlon).abs() < 1)
        sw = far & back
        if sw.any():
            i = int(np.flatnonzero(sw.to_numpy())[0])
            raise FeedError(f"{where(f'{src}/stops.txt', 'stop_lat', i + 1)}: stop "
                            f"'{stops['stop_id'].iloc[i]}' (lat {lat.iloc[i]}, lon {lon.iloc[i]}) "
                            "lies far from the other stops but would sit among them with "
                            "latitude and longitude swapped; exchange the two values")
    zero = needs & (lat == 0) & (lon == 0)
    if zero.any():
        i = int(np.flatnonzero(zero.to_numpy())[0])
        raise FeedError(f"{where(f'{src}/stops.txt', 'stop_lat', i + 1)}: stop "
                        f"'{stops['stop_id'].iloc[i]}' sits at 0,0; give it its real position")
    stops = stops.copy()
    stops["stop_lat"] = lat
    stops["stop_lon"] = lon
    return stops


def _fill_from_parent(stops: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Give entrances, generic nodes and boarding areas without coordinates
    (GTFS location_type 2, 3, 4, where coordinates are optional) the position
    of their parent station; drop those that still have none (no trip can
    stop at them). Returns the table and notes."""
    if "parent_station" not in stops:
        missing = stops["stop_lat"].isna() | stops["stop_lon"].isna()
        if missing.any():
            return stops[~missing].reset_index(drop=True), [
                f"{int(missing.sum()):,} entrance(s)/node(s) without coordinates were left out"]
        return stops, []
    notes: list[str] = []
    pos = stops.set_index("stop_id")[["stop_lat", "stop_lon"]]
    pos = pos[~pos.index.duplicated()]
    filled = 0
    for _ in range(3):  # boarding area -> platform -> station
        missing = stops["stop_lat"].isna() | stops["stop_lon"].isna()
        if not missing.any():
            break
        par = stops.loc[missing, "parent_station"].map(lambda x: x if isinstance(x, str) else "")
        lat = par.map(pos["stop_lat"])
        lon = par.map(pos["stop_lon"])
        ok = lat.notna() & lon.notna()
        if not ok.any():
            break
        idx = ok[ok].index
        stops.loc[idx, "stop_lat"] = lat[ok]
        stops.loc[idx, "stop_lon"] = lon[ok]
        filled += len(idx)
        pos = stops.set_index("stop_id")[["stop_lat", "stop_lon"]]
        pos = pos[~pos.index.duplicated()]
    if filled:
        notes.append(f"{filled:,} entrance(s), node(s) or boarding area(s) without coordinates were "
                     "placed at their parent station")
    missing = stops["stop_lat"].isna() | stops["stop_lon"].isna()
    if missing.any():
        notes.append(f"{int(missing.sum()):,} entrance(s)/node(s) without coordinates or a located "
                     "parent station were left out")
        stops = stops[~missing].reset_index(drop=True)
    return stops, notes


def convert_datum(stops: pd.DataFrame, datum: str) -> pd.DataFrame:
    """Convert stop coordinates from GCJ-02 or BD-09 to WGS-84.

    Uses ``prcoords`` (public domain), the precise iterative inverse. A
    ``WGS84`` datum returns the table unchanged.
    """
    datum = datum.upper().replace("-", "")
    if datum == "WGS84":
        return stops
    import prcoords

    fn = {"GCJ02": prcoords.gcj_wgs_bored, "BD09": prcoords.bd_wgs}.get(datum)
    if fn is None:
        raise FeedError(f"unknown source datum '{datum}'; use WGS84, GCJ02 or BD09")
    stops = stops.copy()
    ok = stops["stop_lat"].notna() & stops["stop_lon"].notna()
    pts = [fn(prcoords.Coords(la, lo)) for la, lo in zip(stops.loc[ok, "stop_lat"], stops.loc[ok, "stop_lon"])]
    stops.loc[ok, "stop_lat"] = [p.lat for p in pts]
    stops.loc[ok, "stop_lon"] = [p.lon for p in pts]
    return stops


def _fmt_rows(rows: np.ndarray, limit: int = 3) -> str:
    """``row 3`` / ``rows 3, 7 and 9`` / ``rows 3, 7, 9, … (12 rows)`` for messages."""
    rows = [int(r) for r in rows]
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:limit])
    return f"rows {shown}, … ({len(rows):,} rows)" if len(rows) > limit else f"rows {shown}"


def check_service_tables(tables: dict[str, pd.DataFrame], src: Path) -> list[str]:
    """Repair what the calendar and frequency tables say wrongly, saying what was done.

    - ``calendar_dates.txt`` rows whose ``exception_type`` is not 1 or 2 are
      ignored (GTFS knows no other value);
    - trips whose ``service_id`` is in neither calendar table never run;
    - stop times of trips not in ``trips.txt`` are ignored;
    - ``frequencies.txt`` rows with a headway of 0 s or less, or that end at
      or before their start, give no departures and are dropped (a trip whose
      every row is dropped is left out, instead of counting as one trip);
      windows of one trip that overlap are cut where the earlier one ends, so
      no departure is counted twice.

    ``tables`` (text columns, as :func:`read_tables` returns them) is changed
    in place. Returns the notes, each naming the file, column and rows.
    """
    notes: list[str] = []
    cd = tables.get("calendar_dates")
    if cd is not None and not cd.empty:
        bad = ~cd["exception_type"].isin(["1", "2"])
        if bad.any():
            rows = np.flatnonzero(bad.to_numpy()) + 1
            notes.append(f"{src.name}/calendar_dates.txt, column 'exception_type', {_fmt_rows(rows)}: value(s) "
                         f"other than 1 (added) or 2 (removed), first '{cd['exception_type'].iloc[rows[0] - 1]}'; "
                         f"{len(rows):,} row(s) ignored. Write 1 or 2")
            tables["calendar_dates"] = cd[~bad].reset_index(drop=True)
    trips, st = tables["trips"], tables["stop_times"]
    known: set[str] = set()
    for tab in ("calendar", "calendar_dates"):
        if tables.get(tab) is not None and "service_id" in tables[tab]:
            known |= set(tables[tab]["service_id"])
    orphan = ~trips["service_id"].isin(known)
    if orphan.any():
        rows = np.flatnonzero(orphan.to_numpy()) + 1
        notes.append(f"{src.name}/trips.txt, column 'service_id', {_fmt_rows(rows)}: {len(rows):,} trip(s) name a "
                     f"service_id in neither calendar.txt nor calendar_dates.txt (first "
                     f"'{trips['service_id'].iloc[rows[0] - 1]}'), so they never run; add the service or correct "
                     "the id")
    stray = ~st["trip_id"].isin(set(trips["trip_id"]))
    if stray.any():
        rows = np.flatnonzero(stray.to_numpy()) + 1
        notes.append(f"{src.name}/stop_times.txt, column 'trip_id', {_fmt_rows(rows)}: {len(rows):,} stop time(s) "
                     f"name a trip not in trips.txt (first '{st['trip_id'].iloc[rows[0] - 1]}'); they are "
                     "ignored. Add the trip or correct the id")
        tables["stop_times"] = st[~stray].reset_index(drop=True)
    fr = tables.get("frequencies")
    if fr is None or fr.empty:
        return notes
    name = f"{src.name}/frequencies.txt"
    start = times_to_seconds(fr["start_time"])
    end = times_to_seconds(fr["end_time"])
    hw = pd.to_numeric(fr["headway_secs"], errors="coerce")
    drop = pd.Series(False, index=fr.index)
    for mask, col, what in (
            (start.isna() | end.isna(), "start_time", "a start or end time that is not H:MM:SS"),
            (hw.isna() | (hw <= 0), "headway_secs", "a headway of 0 s or less (or blank): the seconds between "
                                                     "departures must be positive, e.g. 600"),
            (start.notna() & end.notna() & (end <= start), "end_time", "an end time at or before the start time "
                                                                     "(times after midnight are written 24:30:00, "
                                                                     "not 00:30:00)")):
        mask = mask & ~drop
        if mask.any():
            rows = np.flatnonzero(mask.to_numpy()) + 1
            notes.append(f"{name}, column '{col}', {_fmt_rows(rows)}: {len(rows):,} row(s) with {what}; they give "
                         "no departures and were left out")
            drop |= mask
    keep = fr[~drop].assign(_s=start[~drop], _e=end[~drop], _row=np.arange(len(fr))[~drop.to_numpy()] + 1)
    gone = set(fr.loc[drop, "trip_id"]) - set(keep["trip_id"])
    if gone:
        notes.append(f"{name}: {len(gone):,} trip(s) have no usable frequency row left (first "
                     f"'{sorted(gone)[0]}') and are left out, rather than counted as one trip each")
        tables["trips"] = trips[~trips["trip_id"].isin(gone)].reset_index(drop=True)
        tables["stop_times"] = tables["stop_times"][~tables["stop_times"]["trip_id"].isin(gone)].reset_index(drop=True)
    keep = keep.sort_values(["trip_id", "_s", "_row"], kind="stable")
    prev_end = keep.groupby("trip_id")["_e"].cummax().groupby(keep["trip_id"]).shift()
    over = prev_end.notna() & (keep["_s"] < prev_end)
    if over.any():
        rows = np.sort(keep.loc[over, "_row"].to_numpy())
        notes.append(f"{name}, column 'start_time', {_fmt_rows(rows)}: {len(rows):,} window(s) overlap an earlier "
                     f"window of the same trip (first trip '{keep.loc[over, 'trip_id'].iloc[0]}'); each was cut to "
                     "start where the earlier one ends, so no departure is counted twice. Make the windows follow "
                     "one another")
        new_s = keep["_s"].where(~over, prev_end)
        keep = keep.assign(_s=new_s)
        keep = keep[keep["_e"] > keep["_s"]]
        keep["start_time"] = [f"{int(t) // 3600:02d}:{int(t) % 3600 // 60:02d}:{int(t) % 60:02d}"
                              for t in keep["_s"]]
    tables["frequencies"] = keep.sort_values("_row").drop(columns=["_s", "_e", "_row"]).reset_index(drop=True)
    return notes


def read_feed(path: str | Path, *, datum: str = "WGS84"):
    """Read a GTFS zip or folder into a ``gtfs_kit.Feed``, safely.

    Text is cleaned and decoded first (see :func:`read_tables`), stop
    coordinates are checked and converted to WGS-84 when ``datum`` says so.
    Distance units are kilometres.

    Returns
    -------
    gtfs_kit.Feed
        With an extra attribute ``notes``: a list of strings describing what
        was fixed on the way in (encodings, interpolated times).
    """
    import gtfs_kit as gk

    path = Path(path)
    tables, notes = read_tables(path)
    _require_columns(tables, path)
    notes += _coerce_numbers(tables, path)
    service_notes = check_service_tables(tables, path)
    if tables["trips"].empty:
        raise FeedError(f"{path}: no usable trip is left: " + "; ".join(service_notes))
    if "frequencies" in tables and tables["frequencies"].empty:
        del tables["frequencies"]
    notes += service_notes
    stops, fill_notes = _fill_from_parent(_check_coordinates(tables["stops"], path))
    notes += fill_notes
    tables["stops"] = convert_datum(stops, datum)
    with tempfile.TemporaryDirectory(prefix="citybridge-gtfs-") as tmp:
        for name, df in tables.items():
            df.to_csv(Path(tmp) / f"{name}.txt", index=False)
        try:
            feed = gk.read_feed(tmp, dist_units="km")
        except Exception as exc:  # gtfs-kit raises plain exceptions
            raise FeedError(f"{path}: gtfs-kit could not read the feed ({type(exc).__name__}: {exc})") from None
    feed.notes = notes  # type: ignore[attr-defined]
    feed.source_path = path  # type: ignore[attr-defined]
    return feed


# --------------------------------------------------------------------------
# Times and calendars
# --------------------------------------------------------------------------

def times_to_seconds(s: pd.Series) -> pd.Series:
    """``H:MM:SS`` (hours may exceed 24; ``H:MM`` is read as ``H:MM:00``) to
    seconds after midnight, as float.

    Blank or unreadable values become NaN.
    """
    parts = s.astype("string").str.strip().str.extract(r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d))?$")
    h = pd.to_numeric(parts[0], errors="coerce")
    m = pd.to_numeric(parts[1], errors="coerce")
    sec = pd.to_numeric(parts[2], errors="coerce").fillna(0)
    return (h * 3600 + m * 60 + sec).astype(float)


def _to_date(d: str | dt.date) -> dt.date:
    if isinstance(d, dt.date):
        return d
    try:
        return dt.datetime.strptime(str(d), "%Y%m%d").date()
    except ValueError:
        raise FeedError(f"date '{d}' is not YYYYMMDD (for example 20260317)") from None


def feed_date_range(feed) -> tuple[dt.date, dt.date]:
    """First and last date with any service in the feed."""
    dates = []
    if feed.calendar is not None and not feed.calendar.empty:
        dates += list(feed.calendar["start_date"]) + list(feed.calendar["end_date"])
    if feed.calendar_dates is not None and not feed.calendar_dates.empty:
        dates += list(feed.calendar_dates["date"])
    if not dates:
        raise FeedError("the feed has no calendar.txt or calendar_dates.txt rows; "
                        "add service dates")
    ds = sorted(_to_date(str(d)) for d in dates)
    return ds[0], ds[-1]


_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def active_services(feed, date: str | dt.date) -> set[str]:
    """Service ids running on ``date``: calendar.txt, then calendar_dates.txt
    additions (exception_type 1) and removals (2)."""
    d = _to_date(date)
    ds = d.strftime("%Y%m%d")
    active: set[str] = set()
    cal = feed.calendar
    if cal is not None and not cal.empty:
        wd = _WEEKDAYS[d.weekday()]
        on = (cal["start_date"].astype(str) <= ds) & (cal["end_date"].astype(str) >= ds) & \
             (pd.to_numeric(cal[wd], errors="coerce") == 1)
        active |= set(cal.loc[on, "service_id"].astype(str))
    cd = feed.calendar_dates
    if cd is not None and not cd.empty:
        today = cd[cd["date"].astype(str) == ds]
        et = pd.to_numeric(today["exception_type"], errors="coerce")
        active |= set(today.loc[et == 1, "service_id"].astype(str))
        active -= set(today.loc[et == 2, "service_id"].astype(str))
    return active


def trips_per_template(feed) -> pd.Series:
    """Number of concrete trips each trip row stands for (frequencies expanded).

    Indexed by trip_id; a trip without ``frequencies.txt`` rows counts 1.
    """
    trips = feed.trips["trip_id"].astype(str)
    out = pd.Series(1, index=pd.Index(trips, name="trip_id"), dtype=float)
    fr = feed.frequencies
    if fr is not None and not fr.empty:
        f = _frequency_departures_count(fr)
        out.loc[f.index.intersection(out.index)] = f.reindex(out.index).dropna()
    return out


def _frequency_departures_count(fr: pd.DataFrame) -> pd.Series:
    start = times_to_seconds(fr["start_time"])
    end = times_to_seconds(fr["end_time"])
    hw = pd.to_numeric(fr["headway_secs"], errors="coerce")
    ok = start.notna() & end.notna() & hw.notna() & (hw > 0)
    n = np.ceil((end[ok] - start[ok]) / hw[ok]).clip(lower=0)
    return n.groupby(fr.loc[ok, "trip_id"].astype(str).to_numpy()).sum()


def trips_by_date(feed, dates: list[dt.date]) -> pd.Series:
    """Concrete trips (frequencies expanded) running on each date."""
    per = trips_per_template(feed)
    svc = feed.trips.assign(n=per.to_numpy()).groupby("service_id")["n"].sum()
    counts = {}
    for d in dates:
        act = active_services(feed, d)
        counts[d.strftime("%Y%m%d")] = float(svc[svc.index.astype(str).isin(act)].sum())
    return pd.Series(counts, dtype=float)


def choose_date(feed) -> str:
    """Default analysis date as ``YYYYMMDD``.

    The weekday (Monday–Friday) with the most trips (frequency-based trips
    expanded) in the feed's first full week (Monday to Sunday inside the
    feed's date range); ties go to the earliest day. Feeds shorter than a
    full week use their busiest weekday (or busiest day). A feed with no
    weekday service at all (weekends only) uses its busiest day with service
    (see :func:`date_choice_note`).
    """
    start, end = feed_date_range(feed)
    monday = start + dt.timedelta(days=(7 - start.weekday()) % 7)
    if monday + dt.timedelta(days=6) <= end:
        days = [monday + dt.timedelta(days=i) for i in range(5)]
    else:
        days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        wk = [d for d in days if d.weekday() < 5]
        days = wk or days
    counts = trips_by_date(feed, days)
    if counts.max() <= 0:
        # no weekday service (a weekend-only or holiday feed): the busiest day with service
        span = min((end - start).days + 1, 400)
        every = [start + dt.timedelta(days=i) for i in range(span)]
        counts = trips_by_date(feed, every)
    if counts.empty or counts.max() <= 0:
        raise FeedError(f"no trips run on any day from {start} to {end}; check that the trips' service_id "
                        "values appear in calendar.txt / calendar_dates.txt on days inside the feed's dates "
                        "(and the notes on frequencies.txt, if any)")
    return str(counts.idxmax())


def date_choice_note(date: str) -> list[str]:
    """A note when the default analysis date is not a weekday (the feed has
    no weekday service), saying which day was chosen."""
    d = _to_date(date)
    if d.weekday() < 5:
        return []
    return [f"the feed has no weekday service, so the analysis day is {d:%A} {d:%Y-%m-%d}, the busiest day "
            "with service; figures describe that day, not a working day"]


# --------------------------------------------------------------------------
# The service day
# --------------------------------------------------------------------------

def interpolate_times(st: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Fill blank intermediate ``arrival_s``/``departure_s`` by linear
    interpolation on ``shape_dist_traveled`` (or stop order) within each trip.

    ``st`` must be sorted by trip and stop_sequence. Returns the table and the
    number of stop times that were filled. Vectorised: no per-trip loop.
    """
    dep = st["departure_s"].fillna(st["arrival_s"])
    arr = st["arrival_s"].fillna(st["departure_s"])
    blank = dep.isna()
    n = int(blank.sum())
    if n == 0:
        return st.assign(arrival_s=arr, departure_s=dep), 0
    trip = st["trip_id"]
    if "shape_dist_traveled" in st and pd.to_numeric(st["shape_dist_traveled"], errors="coerce").notna().all():
        x = pd.to_numeric(st["shape_dist_traveled"], errors="coerce")
    else:
        x = st.groupby(trip, sort=False).cumcount().astype(float)
    known_x = x.where(~blank)
    t0 = dep.groupby(trip, sort=False).ffill()
    x0 = known_x.groupby(trip, sort=False).ffill()
    t1 = arr.groupby(trip, sort=False).bfill()
    x1 = known_x.groupby(trip, sort=False).bfill()
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = t0 + (t1 - t0) * (x - x0) / (x1 - x0)
    fill = fill.round()
    return st.assign(arrival_s=arr.fillna(fill), departure_s=dep.fillna(fill)), n


def expand_frequencies(stop_times: pd.DataFrame, frequencies: pd.DataFrame) -> pd.DataFrame:
    """Turn frequency-based template trips into concrete trips.

    For each ``frequencies.txt`` row, departures run at ``start_time + k *
    headway_secs`` strictly before ``end_time``; each copies its template's
    stop times shifted so the first departure falls at that time. Trips
    without frequencies pass through unchanged.

    Parameters
    ----------
    stop_times
        Columns ``trip_id``, ``arrival_s``, ``departure_s`` (seconds) plus any.
    frequencies
        GTFS ``frequencies.txt`` rows.

    Returns
    -------
    DataFrame
        Same columns as ``stop_times`` plus ``template_id`` (the template trip,
        equal to ``trip_id`` for timetable trips). Expanded trips get
        ``trip_id = <template>@<HH:MM:SS of first departure>``.
    """
    st = stop_times.assign(template_id=stop_times["trip_id"])
    if frequencies is None or frequencies.empty:
        return st
    fr = frequencies.assign(trip_id=frequencies["trip_id"].astype(str))
    fr = fr[fr["trip_id"].isin(set(st["trip_id"]))]
    if fr.empty:
        return st
    start = times_to_seconds(fr["start_time"]).to_numpy()
    end = times_to_seconds(fr["end_time"]).to_numpy()
    hw = pd.to_numeric(fr["headway_secs"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(start) & np.isfinite(end) & np.isfinite(hw) & (hw > 0)
    start, end, hw, tid = start[ok], end[ok], hw[ok], fr["trip_id"].to_numpy()[ok]
    n = np.ceil((end - start) / hw).clip(min=0).astype(int)
    rep_tid = np.repeat(tid, n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    t_start = np.repeat(start, n) + k * np.repeat(hw, n)
    deps = pd.DataFrame({"template_id": rep_tid, "t_start": t_start})
    is_tmpl = st["trip_id"].isin(set(tid))
    tmpl = st[is_tmpl]
    first = tmpl.groupby("trip_id")["departure_s"].min().rename("first_dep")
    deps = deps.join(first, on="template_id")
    deps["shift"] = deps["t_start"] - deps["first_dep"]
    secs = deps["t_start"].astype(int)
    deps["new_id"] = (deps["template_id"] + "@" + (secs // 3600).astype(str).str.zfill(2) + ":" +
                      (secs % 3600 // 60).astype(str).str.zfill(2) + ":" + (secs % 60).astype(str).str.zfill(2))
    # the same template may not start twice at one second; keep ids unique anyway
    dup = deps.duplicated("new_id", keep=False)
    if dup.any():
        deps.loc[dup, "new_id"] += "#" + deps[dup].groupby("new_id").cumcount().astype(str)
    expanded = tmpl.drop(columns=["trip_id"]).merge(
        deps[["template_id", "new_id", "shift"]], on="template_id", how="inner")
    expanded["arrival_s"] = expanded["arrival_s"] + expanded["shift"]
    expanded["departure_s"] = expanded["departure_s"] + expanded["shift"]
    expanded = expanded.rename(columns={"new_id": "trip_id"}).drop(columns=["shift"])
    out = pd.concat([st[~is_tmpl], expanded[st.columns]], ignore_index=True)
    return out


@dataclass
class FeedDay:
    """One service day of a feed, ready for the indicator modules.

    Attributes
    ----------
    feed : gtfs_kit.Feed
        The feed as read (stops in WGS-84).
    date : str
        The analysis date, ``YYYYMMDD``.
    stops : DataFrame
        ``stop_id``, ``stop_name``, ``stop_lat``, ``stop_lon`` (degrees,
        WGS-84), ``parent_station``, ``location_type``; every stop of the feed.
    routes : DataFrame
        ``route_id``, ``route_short_name``, ``route_long_name``,
        ``route_type``, ``mode`` (see :func:`mode_of`), ``route_color``.
    trips : DataFrame
        Concrete trips running on the date (frequencies expanded):
        ``trip_id``, ``template_id``, ``route_id``, ``mode``, ``service_id``,
        ``direction_id``, ``vehicle_energy`` (``diesel``/``electric``/
        ``other``/``unknown``), ``start_s``, ``end_s`` (seconds after
        midnight of the service day; may exceed 86,400), ``n_stops``.
    stop_times : DataFrame
        Stop times of those trips: ``trip_id``, ``template_id``, ``route_id``,
        ``mode``, ``stop_id``, ``stop_sequence`` (int), ``arrival_s``,
        ``departure_s`` (seconds after midnight of the service day).
    notes : list of str
        What was fixed or assumed while preparing the day.
    crs : str
        The local metric CRS used for distances.
    """

    feed: object
    date: str
    stops: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    crs: str
    notes: list[str] = field(default_factory=list)
    city_name: str = ""
    _xy: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def is_frequency_based(self) -> bool:
        fr = getattr(self.feed, "frequencies", None)
        return fr is not None and not fr.empty

    def stops_xy(self) -> pd.DataFrame:
        """Stops with ``x``, ``y`` in metres in :attr:`crs`, indexed by stop_id."""
        if self._xy is None:
            from pyproj import Transformer

            tr = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
            x, y = tr.transform(self.stops["stop_lon"].to_numpy(), self.stops["stop_lat"].to_numpy())
            self._xy = self.stops.assign(x=x, y=y).set_index("stop_id")
        return self._xy

    def modes(self) -> list[str]:
        """Modes with at least one trip on the date, in a fixed order."""
        order = ["metro", "rail", "tram", "bus", "ferry", "aerial", "funicular", "other"]
        present = set(self.trips["mode"])
        return [m for m in order if m in present]


def interpolation_notes(blank: int, untimed: int) -> list[str]:
    """What interpolation did: ``blank`` stop times lacked a time, of which
    ``untimed`` (before the first or after the last timed stop) stay blank."""
    notes = []
    if blank - untimed:
        notes.append(f"{blank - untimed:,} blank stop times were interpolated linearly between the "
                     "timed stops of their trip")
    if untimed:
        notes.append(f"{untimed:,} stop times before the first or after the last timed stop of their "
                     "trip could not be interpolated and were left out")
    return notes


def active_trips(feed, date: str) -> pd.DataFrame:
    """The rows of ``trips.txt`` running on ``date`` (YYYYMMDD), with text ids,
    an integer ``direction_id`` (0 where absent) and ``vehicle_energy``
    (``unknown`` where absent).

    Raises
    ------
    FeedError
        No trip runs on the date.
    """
    trips = feed.trips.copy()
    for c in ("trip_id", "route_id", "service_id"):
        trips[c] = trips[c].astype(str)
    trips = trips[trips["service_id"].isin(active_services(feed, date))]
    if trips.empty:
        lo, hi = feed_date_range(feed)
        raise FeedError(f"no trips run on {date} (the feed covers {lo:%Y%m%d}–{hi:%Y%m%d}); "
                        "choose a date inside the feed's calendar")
    if "direction_id" not in trips:
        trips["direction_id"] = 0
    trips["direction_id"] = pd.to_numeric(trips["direction_id"], errors="coerce").fillna(0).astype(int)
    if "vehicle_energy" not in trips:
        trips["vehicle_energy"] = "unknown"
    trips["vehicle_energy"] = trips["vehicle_energy"].fillna("unknown").replace("", "unknown").astype(str)
    return trips


def utm_crs(lat: float, lon: float) -> str:
    """The WGS-84 UTM zone of a point, as ``EPSG:326xx`` (north) or ``EPSG:327xx`` (south)."""
    zone = int((lon + 180) // 6) % 60 + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def prepare_day(feed, date: str | None = None, *, crs: str | None = None, city_name: str = "") -> FeedDay:
    """Build the :class:`FeedDay` for ``date`` (default :func:`choose_date`).

    ``crs`` is the metric CRS for distances; default the UTM zone of the
    stops' median position.

    Raises
    ------
    FeedError
        No trip runs on the date.
    """
    notes = list(getattr(feed, "notes", []))
    if date is None or str(date).strip() == "":
        date = choose_date(feed)
        notes += date_choice_note(date)
    date = _to_date(date).strftime("%Y%m%d")
    routes = feed.routes.copy()
    routes["route_id"] = routes["route_id"].astype(str)
    routes["mode"] = mode_of(routes["route_type"])
    for c in ("route_short_name", "route_long_name", "route_color"):
        if c not in routes:
            routes[c] = ""
    routes[["route_short_name", "route_long_name", "route_color"]] = \
        routes[["route_short_name", "route_long_name", "route_color"]].fillna("").astype(str)

    trips = active_trips(feed, date)

    st = feed.stop_times
    st = st[st["trip_id"].astype(str).isin(set(trips["trip_id"]))]
    st = pd.DataFrame({
        "trip_id": st["trip_id"].astype(str).to_numpy(),
        "stop_id": st["stop_id"].astype(str).to_numpy(),
        "stop_sequence": pd.to_numeric(st["stop_sequence"], errors="coerce").to_numpy(),
        "arrival_s": times_to_seconds(st["arrival_time"]).to_numpy() if "arrival_time" in st else np.nan,
        "departure_s": times_to_seconds(st["departure_time"]).to_numpy() if "departure_time" in st else np.nan,
        **({"shape_dist_traveled": pd.to_numeric(st["shape_dist_traveled"], errors="coerce").to_numpy()}
           if "shape_dist_traveled" in st else {}),
    })
    unreadable = 0
    for col in ("arrival_time", "departure_time"):
        if col in feed.stop_times:
            raw_t = feed.stop_times.loc[feed.stop_times["trip_id"].astype(str).isin(set(trips["trip_id"])), col]
            raw_t = raw_t.fillna("").astype(str).str.strip()
            unreadable += int(((raw_t != "") & times_to_seconds(raw_t).isna()).sum())
    if unreadable:
        notes.append(f"{unreadable:,} stop time value(s) are not written H:MM:SS and were treated as "
                     "blank (interpolated where possible)")
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    st, blank = interpolate_times(st)
    notes += interpolation_notes(blank, int(st["departure_s"].isna().sum()))
    st = st.dropna(subset=["departure_s"])
    st = expand_frequencies(st, feed.frequencies)
    if feed.frequencies is not None and not feed.frequencies.empty:
        notes.append("trips from frequencies.txt were expanded into concrete departures "
                     "(start + k × headway, before the end time)")
    st = st.drop(columns=[c for c in ("shape_dist_traveled",) if c in st])
    st["stop_sequence"] = st["stop_sequence"].astype(int)

    trips = trips.rename(columns={"trip_id": "template_id"})
    g = st.groupby("trip_id", sort=False)
    tstats = pd.DataFrame({
        "template_id": g["template_id"].first(),
        "start_s": g["departure_s"].min(),
        "end_s": g["arrival_s"].max(),
        "n_stops": g.size(),
    }).reset_index()
    keep = ["template_id", "route_id", "service_id", "direction_id", "vehicle_energy"]
    trips = tstats.merge(trips[keep], on="template_id", how="inner")
    trips = trips.merge(routes[["route_id", "mode"]], on="route_id", how="left")
    trips["mode"] = trips["mode"].fillna("other")
    trips = trips[["trip_id", "template_id", "route_id", "mode", "service_id", "direction_id",
                   "vehicle_energy", "start_s", "end_s", "n_stops"]]
    st = st.merge(trips[["trip_id", "route_id", "mode"]], on="trip_id", how="inner")
    st = st[["trip_id", "template_id", "route_id", "mode", "stop_id", "stop_sequence",
             "arrival_s", "departure_s"]]

    stops = feed.stops.copy()
    stops["stop_id"] = stops["stop_id"].astype(str)
    for c in ("stop_name", "parent_station", "location_type"):
        if c not in stops:
            stops[c] = ""
    stops["stop_name"] = stops["stop_name"].fillna("").astype(str)
    stops["parent_station"] = stops["parent_station"].fillna("").astype(str)
    stops = stops[["stop_id", "stop_name", "stop_lat", "stop_lon", "parent_station", "location_type"]]
    if crs is None:
        crs = utm_crs(float(stops["stop_lat"].median()), float(stops["stop_lon"].median()))
    return FeedDay(feed=feed, date=date, stops=stops, routes=routes, trips=trips.reset_index(drop=True),
                   stop_times=st.reset_index(drop=True), crs=crs, notes=notes, city_name=city_name)


_DAY_CACHE: dict[tuple, FeedDay] = {}


def feed_day(city, date: str | None = None) -> FeedDay:
    """Read a city's feed and prepare its analysis day.

    The result is kept for the life of the process (keyed by the feed's
    path, size and modification time, and the date), and on disk between
    processes (:func:`citybridge.artifacts.load_day`, keyed by the content of
    the city's files and the package), so each city's day is prepared once
    per build and a kernel loads it in about a second. Treat it as read-only.

    Parameters
    ----------
    city
        A :class:`citybridge.city.City` or a slug.
    date
        ``YYYYMMDD``; default :func:`choose_date`.
    """
    from .city import City, load_city

    if not isinstance(city, City):
        city = load_city(city)
    p = city.gtfs_path
    st = p.stat() if p.exists() else None
    key = (str(p.resolve()), st.st_size if st else 0, st.st_mtime_ns if st else 0, date or "",
           city.profile.source_datum, city.profile.crs)
    if key not in _DAY_CACHE:
        from .artifacts import load_day, store_day

        day = load_day(city, date)
        if day is None:
            feed = read_feed(p, datum=city.profile.source_datum)
            require_rows(feed, p)
            day = prepare_day(feed, date, crs=city.profile.crs, city_name=city.name)
            store_day(city, date, day)
        _DAY_CACHE[key] = day
    return _DAY_CACHE[key]


def copy_feed_folder(src: Path, dest: Path) -> None:
    """Copy a GTFS zip or folder (used by ``new-city``), never modifying ``src``."""
    if src.is_dir():
        shutil.copytree(src, dest)
    else:
        shutil.copy2(src, dest)
