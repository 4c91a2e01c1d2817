"""Tables: the second stage of reading a GTFS feed.

Refusing what cannot be used, with the file, column and row: missing
required files or columns, blank keys, unreadable stop sequences, dates,
route types and calendar flags, coordinates out of range, swapped or at 0,0;
repairing what can be repaired, with a note (unreadable optional numbers
blanked, entrances placed at their parent station, calendar and frequency
rows that cannot run); converting GCJ-02 / BD-09 stops to WGS-84
(``prcoords``); typing the columns as gtfs-kit does
(:func:`citybridge.feed.columns.typed_table`). :func:`feed_tables` does all
of it and gives a :class:`FeedTables`; :func:`read_feed` wraps the same
tables in a ``gtfs_kit.Feed``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FeedError, where
from ..periods import times_to_seconds
from ..i18n import N_
from ..texts import T, Text, TextStr, resolve, tr
from .archive import read_tables
from .columns import GTFS_TYPES, check_stop_times, distinct_values, frame_columns, typed_table

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


def no_rows(src: Path, tab: str) -> str:
    """The message for a table ``tab`` of feed ``src`` that has a header but no rows."""
    return f"{src}/{tab}.txt: " + tr("the file has a header but no rows; export the table again from the source "
                                     "system (a feed needs at least one row in it)")


def require_rows(feed, src: str | Path) -> None:
    """Raise :class:`FeedError` when ``stop_times.txt`` of a read feed has no rows.

    (:func:`read_feed` checks stops, routes and trips itself; stop times are
    checked here because the fast indicators reader passes them separately.)
    """
    st = getattr(feed, "stop_times", None)
    if st is None or st.empty:
        raise FeedError(no_rows(Path(src), "stop_times"))


def _require_columns(tables: dict[str, pd.DataFrame], src: Path) -> None:
    """Refuse tables the workbook cannot use: missing required columns,
    blank keys, unreadable stop sequences and dates (file, column and row named)."""
    for tab, cols in REQUIRED_COLUMNS.items():
        if tab not in tables:
            continue
        df = tables[tab]
        if df.columns.empty and tab in ("stops", "routes", "trips", "stop_times"):
            raise FeedError(f"{src}/{tab}.txt: " + tr("the file is empty (no header row); export the table "
                                                      "again from the source system"))
        for c in cols:
            if c not in df.columns:
                raise FeedError(f"{where(f'{src}/{tab}.txt', c)}: " + tr("required column is missing; add it "
                                                                         "(see the GTFS reference)"))
        if df.empty and tab in ("stops", "routes", "trips"):
            raise FeedError(no_rows(src, tab))
    for tab, key in (("stops", "stop_id"), ("routes", "route_id"), ("trips", "trip_id"),
                     ("trips", "route_id"),
                     ("trips", "service_id")):
        df = tables[tab]
        blank = df[key] == ""
        if blank.any():
            raise FeedError(f"{where(f'{src}/{tab}.txt', key, _first_row(blank))}: "
                            + tr("the {key} is blank ({n:,} row(s)); every row needs one", key=key,
                                 n=int(blank.sum())))
    st = tables["stop_times"]
    check_stop_times(frame_columns(st), list(st.columns), f"{src}/stop_times.txt")
    for tab, cols in (("calendar", ("start_date", "end_date")), ("calendar_dates", ("date",))):
        df = tables.get(tab)
        if df is None or df.empty:
            continue
        for c in cols:
            ok = df[c].str.fullmatch(r"\d{8}") & pd.to_datetime(df[c], format="%Y%m%d", errors="coerce").notna()
            if not ok.all():
                i = _first_row(~ok)
                raise FeedError(f"{where(f'{src}/{tab}.txt', c, i)}: "
                                + tr("'{value}' is not a date written YYYYMMDD (for example 20260317)",
                                     value=str(df[c].iloc[i - 1])))


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
    notes: list[str] = []
    for tab, df in tables.items():
        types = GTFS_TYPES.get(tab, {})
        for col, typ in types.items():
            if col not in df.columns or typ == "string" or col in ("stop_lat", "stop_lon", "stop_sequence"):
                continue
            # each distinct text is read once (a column of a large table holds few: 0, 1, blank)
            v = df[col]
            codes, text = distinct_values(v)
            num = pd.to_numeric(text, errors="coerce")
            blank = text == ""
            is_int = typ.startswith("Int")
            bad = ~blank & num.isna()
            if is_int:
                lim = _INT_LIMITS.get(typ, 2**31)
                bad |= ~blank & num.notna() & ((num != num.round()) | (num.abs() >= lim))
            bad_rows = bad.to_numpy()[codes]
            if bad_rows.any():
                i = int(np.flatnonzero(bad_rows)[0]) + 1
                what = _STRICT_NUMBERS.get((tab, col))
                if what is not None:
                    raise FeedError(f"{where(f'{src}/{tab}.txt', col, i)}: "
                                    + tr("'{value}' is not a valid value ({n:,} row(s)); write {what}",
                                         value=str(v.iloc[i - 1]), n=int(bad_rows.sum()), what=what))
                notes.append(_note(f"{src.name}/{tab}.txt, column '{col}'", T(
                    "{n:,} value(s) that are not numbers (first '{value}', row {row}) were ignored",
                    n=int(bad_rows.sum()), value=str(v.iloc[i - 1]), row=i)))
            new = text.where(~bad, "")
            if is_int:
                ok = num.notna() & ~bad
                new[ok] = num[ok].astype("int64").astype(str)
            if not new.equals(text):
                df[col] = pd.Series(new.to_numpy(dtype=object)[codes], index=v.index, dtype=v.dtype)
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
        raise FeedError(f"{where(f'{src}/stops.txt', col, i + 1)}: "
                        + tr("stop '{stop}' has no readable coordinate ('{value}'); write decimal degrees",
                             stop=str(stops["stop_id"].iloc[i]), value=str(stops[col].iloc[i])))
    out = (lat.abs() > 90) | (lon.abs() > 180)
    if out.any():
        i = int(np.flatnonzero(out.to_numpy())[0])
        swapped = abs(lat.iloc[i]) <= 180 and abs(lon.iloc[i]) <= 90
        hint = (tr("the latitude and longitude columns look swapped; exchange them")
                if swapped else tr("coordinates must be WGS-84 decimal degrees"))
        raise FeedError(f"{where(f'{src}/stops.txt', 'stop_lat', i + 1)}: "
                        + tr("stop '{stop}' is out of range (lat {lat}, lon {lon}); {hint}",
                             stop=str(stops["stop_id"].iloc[i]), lat=str(lat.iloc[i]), lon=str(lon.iloc[i]),
                             hint=hint))
    # a stop whose coordinates, exchanged, land among the other stops was swapped
    if needs.sum() >= 3:
        mlat, mlon = lat[needs].median(), lon[needs].median()
        far = needs & (((lat - mlat).abs() > 2) | ((lon - mlon).abs() > 2))
        back = ((lon - mlat).abs() < 1) & ((lat - mlon).abs() < 1)
        sw = far & back
        if sw.any():
            i = int(np.flatnonzero(sw.to_numpy())[0])
            raise FeedError(f"{where(f'{src}/stops.txt', 'stop_lat', i + 1)}: "
                            + tr("stop '{stop}' (lat {lat}, lon {lon}) lies far from the other stops but would sit "
                                 "among them with latitude and longitude swapped; exchange the two values",
                                 stop=str(stops["stop_id"].iloc[i]), lat=str(lat.iloc[i]), lon=str(lon.iloc[i])))
    zero = needs & (lat == 0) & (lon == 0)
    if zero.any():
        i = int(np.flatnonzero(zero.to_numpy())[0])
        raise FeedError(f"{where(f'{src}/stops.txt', 'stop_lat', i + 1)}: "
                        + tr("stop '{stop}' sits at 0,0; give it its real position",
                             stop=str(stops["stop_id"].iloc[i])))
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
        notes.append(TextStr(T("{n:,} entrance(s), node(s) or boarding area(s) without coordinates were placed "
                               "at their parent station", n=filled)))
    missing = stops["stop_lat"].isna() | stops["stop_lon"].isna()
    if missing.any():
        notes.append(TextStr(T("{n:,} entrance(s)/node(s) without coordinates or a located parent station were "
                               "left out", n=int(missing.sum()))))
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
        raise FeedError(tr("unknown source datum '{datum}'; use WGS84, GCJ02 or BD09", datum=str(datum)))
    stops = stops.copy()
    ok = stops["stop_lat"].notna() & stops["stop_lon"].notna()
    pts = [fn(prcoords.Coords(la, lo)) for la, lo in zip(stops.loc[ok, "stop_lat"], stops.loc[ok, "stop_lon"])]
    stops.loc[ok, "stop_lat"] = [p.lat for p in pts]
    stops.loc[ok, "stop_lon"] = [p.lon for p in pts]
    return stops


def _note(where_: str, text: Text) -> TextStr:
    """A note that starts with where it applies (file, column, rows: as written, a value), then the text."""
    return TextStr(Text.join([f"{where_}: ", text]))


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
            notes.append(_note(f"{src.name}/calendar_dates.txt, column 'exception_type', {_fmt_rows(rows)}", T(
                "value(s) other than 1 (added) or 2 (removed), first '{value}'; {n:,} row(s) ignored. Write 1 or 2",
                value=str(cd["exception_type"].iloc[rows[0] - 1]), n=len(rows))))
            tables["calendar_dates"] = cd[~bad].reset_index(drop=True)
    trips, st = tables["trips"], tables["stop_times"]
    known: set[str] = set()
    for tab in ("calendar", "calendar_dates"):
        if tables.get(tab) is not None and "service_id" in tables[tab]:
            known |= set(tables[tab]["service_id"])
    orphan = ~trips["service_id"].isin(known)
    if orphan.any():
        rows = np.flatnonzero(orphan.to_numpy()) + 1
        notes.append(_note(f"{src.name}/trips.txt, column 'service_id', {_fmt_rows(rows)}", T(
            "{n:,} trip(s) name a service_id in neither calendar.txt nor calendar_dates.txt (first '{value}'), so "
            "they never run; add the service or correct the id", n=len(rows),
            value=str(trips["service_id"].iloc[rows[0] - 1]))))
    # (isin on a column, not a set: pandas' text columns then never loop in Python)
    stray = ~st["trip_id"].isin(trips["trip_id"]) if len(st) else pd.Series(False, index=st.index)
    if stray.any():
        rows = np.flatnonzero(stray.to_numpy()) + 1
        notes.append(_note(f"{src.name}/stop_times.txt, column 'trip_id', {_fmt_rows(rows)}", T(
            "{n:,} stop time(s) name a trip not in trips.txt (first '{value}'); they are ignored. Add the trip or "
            "correct the id", n=len(rows), value=str(st["trip_id"].iloc[rows[0] - 1]))))
        tables["stop_times"] = st[~stray].reset_index(drop=True)
    fr = tables.get("frequencies")
    if fr is None or fr.empty:
        return notes
    name = f"{src.name}/frequencies.txt"
    start = times_to_seconds(fr["start_time"])
    end = times_to_seconds(fr["end_time"])
    hw = pd.to_numeric(fr["headway_secs"], errors="coerce")
    drop = pd.Series(False, index=fr.index)
    for mask, col, message in (
            (start.isna() | end.isna(), "start_time", N_("{n:,} row(s) with a start or end time that is not H:MM:SS; "
                                                         "they give no departures and were left out")),
            (hw.isna() | (hw <= 0), "headway_secs", N_("{n:,} row(s) with a headway of 0 s or less (or blank): the "
                                                       "seconds between departures must be positive, e.g. 600; they "
                                                       "give no departures and were left out")),
            (start.notna() & end.notna() & (end <= start), "end_time",
             N_("{n:,} row(s) with an end time at or before the start time (times after midnight are written "
                "24:30:00, not 00:30:00); they give no departures and were left out"))):
        mask = mask & ~drop
        if mask.any():
            rows = np.flatnonzero(mask.to_numpy()) + 1
            notes.append(_note(f"{name}, column '{col}', {_fmt_rows(rows)}", T(message, n=len(rows))))
            drop |= mask
    keep = fr[~drop].assign(_s=start[~drop], _e=end[~drop], _row=np.arange(len(fr))[~drop.to_numpy()] + 1)
    gone = set(fr.loc[drop, "trip_id"]) - set(keep["trip_id"])
    if gone:
        notes.append(_note(name, T("{n:,} trip(s) have no usable frequency row left (first '{trip}') and are left "
                                   "out, rather than counted as one trip each", n=len(gone),
                                   trip=str(sorted(gone)[0]))))
        tables["trips"] = trips[~trips["trip_id"].isin(gone)].reset_index(drop=True)
        tables["stop_times"] = tables["stop_times"][~tables["stop_times"]["trip_id"].isin(gone)].reset_index(drop=True)
    keep = keep.sort_values(["trip_id", "_s", "_row"], kind="stable")
    prev_end = keep.groupby("trip_id")["_e"].cummax().groupby(keep["trip_id"]).shift()
    over = prev_end.notna() & (keep["_s"] < prev_end)
    if over.any():
        rows = np.sort(keep.loc[over, "_row"].to_numpy())
        notes.append(_note(f"{name}, column 'start_time', {_fmt_rows(rows)}", T(
            "{n:,} window(s) overlap an earlier window of the same trip (first trip '{trip}'); each was cut to start "
            "where the earlier one ends, so no departure is counted twice. Make the windows follow one another",
            n=len(rows), trip=str(keep.loc[over, "trip_id"].iloc[0]))))
        new_s = keep["_s"].where(~over, prev_end)
        keep = keep.assign(_s=new_s)
        keep = keep[keep["_e"] > keep["_s"]]
        keep["start_time"] = [f"{int(t) // 3600:02d}:{int(t) % 3600 // 60:02d}:{int(t) % 60:02d}"
                              for t in keep["_s"]]
    tables["frequencies"] = keep.sort_values("_row").drop(columns=["_s", "_e", "_row"]).reset_index(drop=True)
    return notes


class FeedTables:
    """A GTFS feed's tables, checked and typed (:func:`feed_tables`).

    Attributes
    ----------
    agency, stops, routes, trips, stop_times, calendar, calendar_dates, frequencies, shapes, transfers, \
feed_info, fare_attributes, fare_rules, attributions : DataFrame or None
        Each table of :data:`citybridge.feed.columns.GTFS_TYPES`, typed as
        gtfs-kit types it; None when the feed has no rows of it. Stop
        coordinates in degrees (WGS-84).
    dist_units : str
        ``"km"``, the unit of ``shape_dist_traveled`` as gtfs-kit is told.
    notes : list of str
        What was fixed on the way in.
    source_path : Path
        The feed read.
    """

    def __init__(self, tables: dict[str, pd.DataFrame | None], *, notes: list[str], source_path: Path) -> None:
        for name in GTFS_TYPES:
            setattr(self, name, tables.get(name))
        self.dist_units = "km"
        self.notes = notes
        self.source_path = source_path

    def tables(self) -> dict[str, pd.DataFrame | None]:
        """Every table by name (None when absent), as ``gtfs_kit.Feed`` takes them."""
        return {name: getattr(self, name) for name in GTFS_TYPES}


def feed_tables(tables: dict[str, pd.DataFrame], notes: list[str], path: Path, *,
                datum: str = "WGS84") -> FeedTables:
    """Check, repair and type a feed's text tables (as :func:`read_tables` gives them).

    Refuses what cannot be used, repairs the calendar and frequency tables
    (:func:`check_service_tables`), checks the stop coordinates and converts
    them to WGS-84 when ``datum`` says so (:func:`convert_datum`), then types
    every column (:func:`citybridge.feed.columns.typed_table`). ``tables``
    is changed in place; ``notes`` (what was fixed while decoding) is
    extended.

    Parameters
    ----------
    tables, notes
        The text tables by name and the notes of decoding them
        (:func:`citybridge.feed.read_tables`,
        :func:`citybridge.feed.decode_tables`).
    path
        The feed, for messages (file, column and row are named under it).
    datum
        Datum of the stop coordinates: ``WGS84``, ``GCJ02`` or ``BD09``.

    Returns
    -------
    FeedTables
        Every GTFS table typed; its columns are the file's own.

    Raises
    ------
    FeedError
        Missing required columns, blank keys, unreadable values (file, column
        and row named), or no usable trip left.
    """
    _require_columns(tables, path)
    notes += _coerce_numbers(tables, path)
    service_notes = check_service_tables(tables, path)
    if tables["trips"].empty:
        raise FeedError(f"{path}: " + tr("no usable trip is left: {reasons}",
                                         reasons="; ".join(str(resolve(n)) for n in service_notes)))
    if "frequencies" in tables and tables["frequencies"].empty:
        del tables["frequencies"]
    notes += service_notes
    stops, fill_notes = _fill_from_parent(_check_coordinates(tables["stops"], path))
    notes += fill_notes
    tables["stops"] = convert_datum(stops, datum)
    typed: dict[str, pd.DataFrame | None] = {}
    for name, df in tables.items():
        if name not in GTFS_TYPES or df.empty:
            continue  # as gtfs-kit: a table without rows is absent, other files are not GTFS tables
        try:
            typed[name] = typed_table(df, name)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise FeedError(f"{path}/{name}.txt: " + tr("a value cannot be read as its column's type "
                                                        "({kind}: {reason}); check the numbers in that file",
                                                        kind=type(exc).__name__, reason=str(exc))) from None
    return FeedTables(typed, notes=notes, source_path=path)


def read_feed(path: str | Path, *, datum: str = "WGS84"):
    """Read a GTFS zip or folder into a ``gtfs_kit.Feed``, safely.

    Text is cleaned and decoded first (see :func:`read_tables`), then
    checked, repaired and typed by :func:`feed_tables`; stop coordinates are
    converted to WGS-84 when ``datum`` says so. Distance units are
    kilometres.

    Returns
    -------
    gtfs_kit.Feed
        With extra attributes ``notes`` (a list of strings describing what
        was fixed on the way in) and ``source_path``.
    """
    import gtfs_kit as gk

    path = Path(path)
    tables, notes = read_tables(path)
    ft = feed_tables(tables, notes, path, datum=datum)
    feed = gk.Feed(dist_units=ft.dist_units, **ft.tables())
    feed.notes = ft.notes  # type: ignore[attr-defined]
    feed.source_path = path  # type: ignore[attr-defined]
    return feed
