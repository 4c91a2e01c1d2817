"""The service day: the last stage of reading a GTFS feed.

One code path builds every :class:`citybridge.engine.FeedDay`
(:func:`build_day`): the stop times of the trips running on the date are
taken as integer codes, checked once
(:func:`citybridge.feed.columns.check_stop_times`), sorted by trip and stop
order, their times parsed once per distinct text
(:func:`citybridge.periods.parse_times`), blank intermediate times
interpolated (:func:`interpolate`), and trips from ``frequencies.txt``
expanded into concrete departures (:func:`expand_frequencies`, on one row
per trip). Times past 24:00 stay seconds after midnight of the service day.

Three doors lead in: :func:`read_day` streams a feed from disk (metropolitan
feeds; its tables a :class:`citybridge.feed.FeedTables`), :func:`prepare_day`
starts from a ``gtfs_kit.Feed`` read by :func:`citybridge.feed.read_feed`, and :func:`feed_day` serves a city's day,
stored on disk between processes (:mod:`citybridge.artifacts`).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine import FeedDay, sorted_codes
from ..errors import FeedError
from ..periods import parse_times, times_to_seconds
from ..texts import T, TextStr, tr
from .archive import MAX_COMPRESSION_RATIO, MAX_UNCOMPRESSED_BYTES
from .calendar import active_trips, choose_date, date_choice_note, to_date
from .columns import STOP_TIMES, Column, check_stop_times, frame_columns
from .coded import read_coded
from .stream import StopTimesStream, in_background, release_memory
from .tables import mode_of, no_rows


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


def interpolate(trip: np.ndarray, arr: np.ndarray, dep: np.ndarray, x: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Fill blank intermediate arrival/departure times by linear interpolation.

    Within each trip, on ``x`` (``shape_dist_traveled``, or the stop's
    position in the trip when None) between the timed stops around it;
    a blank arrival takes the departure and vice versa. Arrays are sorted
    by trip and stop order. Vectorised: no per-trip loop.

    Returns
    -------
    arr, dep, blank
        Arrival and departure (s; NaN where no timed stop lies on both
        sides) and the number of stop times that lacked a time.
    """
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



def stop_order(trip: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """The order that sorts stop times by trip, then stop order, keeping rows of equal keys in place.

    The same order as a stable sort of the pairs (``trip``, ``seq``); when
    each trip's rows follow one another in stop order (as feeds are
    written), only the trips' runs of rows are sorted, not every row.

    Returns
    -------
    ndarray of int64
        Row positions, sorted.
    """
    n = len(trip)
    if n:
        brk = np.flatnonzero(trip[1:] != trip[:-1]) + 1
        starts = np.r_[0, brk]
        back = seq[1:] < seq[:-1]
        back[brk - 1] = False  # a new trip may start at any stop
        if not back.any() and np.bincount(trip[starts]).max() == 1:  # one run per trip, in stop order
            runs = np.argsort(trip[starts], kind="stable")
            return _ranges(starts[runs], np.diff(np.r_[starts, n])[runs])
    if n and seq.max() < 2 ** 31:  # one int64 key sorts three times faster than lexsort, same order
        return np.argsort((trip.astype(np.int64) << 32) | seq.astype(np.int64), kind="stable")
    return np.lexsort((seq, trip))


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


def interpolation_notes(blank: int, untimed: int) -> list[str]:
    """What interpolation did: ``blank`` stop times lacked a time, of which
    ``untimed`` (before the first or after the last timed stop) stay blank
    (English strings that carry their translation, :class:`~citybridge.texts.TextStr`)."""
    notes = []
    if blank - untimed:
        notes.append(TextStr(T("{n:,} blank stop times were interpolated linearly between the timed stops of "
                               "their trip", n=blank - untimed)))
    if untimed:
        notes.append(TextStr(T("{n:,} stop times before the first or after the last timed stop of their trip "
                               "could not be interpolated and were left out", n=untimed)))
    return notes

def utm_crs(lat: float, lon: float) -> str:
    """The WGS-84 UTM zone of a point, as ``EPSG:326xx`` (north) or ``EPSG:327xx`` (south)."""
    zone = int((lon + 180) // 6) % 60 + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"






def day_tables(feed, *, crs: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The routes and stops tables of a day, and its metric CRS.

    Returns
    -------
    routes, stops, crs
        ``routes`` with text ``route_id``, ``route_short_name``,
        ``route_long_name``, ``route_color`` and ``mode`` (see
        :func:`citybridge.feed.mode_of`); ``stops`` with ``stop_id``,
        ``stop_name``, ``stop_lat``, ``stop_lon`` (degrees, WGS-84),
        ``parent_station``, ``location_type``; ``crs`` as given, else the
        UTM zone of the stops' median position.
    """
    routes = feed.routes.copy()
    routes["route_id"] = routes["route_id"].astype(str)
    routes["mode"] = mode_of(routes["route_type"])
    text = ["route_short_name", "route_long_name", "route_color"]
    for c in text:
        if c not in routes:
            routes[c] = ""
    routes[text] = routes[text].fillna("").astype(str)
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
    return routes, stops, crs


def _times(c: Column | None, rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Seconds of one time column (None when absent) at ``rows``, and how many were unreadable."""
    if c is None:
        return np.full(len(rows), np.nan), 0
    sec_u = parse_times(c.values)
    bad_u = (c.values != "") & np.isnan(sec_u)
    codes = c.codes[rows]
    return sec_u[codes], int(bad_u[codes].sum())


def build_day(feed, cols: dict[str, Column], names: list[str], date: str | None = None, *,
              crs: str | None = None, label: str = STOP_TIMES, notes: list[str] | None = None,
              city_name: str = "") -> FeedDay:
    """Prepare one service day from a feed's tables and its coded stop times.

    Parameters
    ----------
    feed
        The feed's tables (a :class:`citybridge.feed.FeedTables` or a
        ``gtfs_kit.Feed``; its ``stop_times`` is not used).
    cols, names
        ``stop_times.txt`` as coded columns, and its column names; ``cols``
        is emptied as its columns are used (they may be large).
    date
        ``YYYYMMDD``; default :func:`citybridge.feed.choose_date`.
    crs
        Metric CRS for distances; default the stops' UTM zone.
    label
        The stop_times file, for messages.
    notes
        Notes gathered while reading (default ``feed.notes``).

    Raises
    ------
    FeedError
        Bad stop times (see :func:`citybridge.feed.columns.check_stop_times`),
        no trip running on the date, or none of them with a timed stop.
    """
    notes = list(getattr(feed, "notes", []) if notes is None else notes)
    seq_u = check_stop_times(cols, names, label)
    if len(seq_u) and seq_u.max() < 2 ** 53:  # whole numbers (checked): integers from the start
        seq_u = seq_u.astype(np.int64)
    if date is None or not str(date).strip():
        date = choose_date(feed)
        notes += date_choice_note(date)
    date = to_date(str(date).strip()).strftime("%Y%m%d")
    routes, stops, crs = day_tables(feed, crs=crs)
    trips_act = active_trips(feed, date).drop_duplicates("trip_id")
    trips_act = trips_act.sort_values("trip_id", kind="stable").reset_index(drop=True)
    tid = pd.Index(trips_act["trip_id"].to_numpy(dtype=object))

    # ---- stop times of the active trips, sorted by trip and stop order;
    # each column is dropped from ``cols`` once used, so its memory goes early
    tc = cols.pop("trip_id")
    trip_u = tid.get_indexer(tc.values).astype(np.int32)
    rows = np.flatnonzero((trip_u >= 0)[tc.codes])  # the rows of active trips (a mask, not every row's code)
    trip = trip_u[tc.codes[rows]]
    del tc
    seq = seq_u[cols.pop("stop_sequence").codes[rows]]
    order = stop_order(trip, seq)
    rows, trip, seq = rows[order], trip[order], seq[order]
    del order
    # the two time columns at once (Arrow's and numpy's kernels let go of the interpreter)
    arrival = in_background(_times, cols.pop("arrival_time", None), rows)
    dep, bad_d = _times(cols.pop("departure_time", None), rows)
    arr, bad_a = arrival()
    if bad_a + bad_d:
        notes.append(TextStr(T("{n:,} stop time value(s) are not written H:MM:SS and were treated as blank "
                               "(interpolated where possible)", n=bad_a + bad_d)))
    x = None
    c = cols.pop("shape_dist_traveled", None)
    if c is not None:
        sd_u = pd.to_numeric(pd.Series(c.values, dtype=object), errors="coerce").to_numpy(dtype=float)
        sd = sd_u[c.codes[rows]]
        if not np.isnan(sd).any():
            x = sd
    del c
    arr, dep, blank = interpolate(trip, arr, dep, x)
    timed = ~np.isnan(dep)
    notes += interpolation_notes(blank, int((~timed).sum()))
    if not timed.all():
        rows, trip, seq, arr, dep = rows[timed], trip[timed], seq[timed], arr[timed], dep[timed]
    sc = cols.pop("stop_id")
    stop_raw, stop_values = sc.codes[rows], sc.values
    del sc, rows

    # ---- concrete trips: frequencies expanded on one row per trip
    counts = np.bincount(trip, minlength=len(trips_act))
    starts = np.cumsum(counts) - counts
    present = np.flatnonzero(counts > 0)
    if not len(present):
        raise FeedError(f"{label}: " + tr("none of the {n:,} trips running on {date} has a timed stop time; check "
                                          "that its trip_id values match trips.txt", n=len(trips_act),
                                          date=str(date)))
    first_dep = np.full(len(trips_act), np.nan)
    first_dep[present] = np.fmin.reduceat(dep, starts[present])
    mini = pd.DataFrame({"trip_id": trips_act["trip_id"].to_numpy()[present],
                         "arrival_s": first_dep[present], "departure_s": first_dep[present],
                         "_code": present})
    conc = expand_frequencies(mini, feed.frequencies)
    if feed.frequencies is not None and not feed.frequencies.empty:
        notes.append(TextStr(T("trips from frequencies.txt were expanded into concrete departures "
                               "(start + k × headway, before the end time)")))
    ccode = conc["_code"].to_numpy(dtype=np.int64)
    shift = conc["departure_s"].to_numpy(dtype=float) - first_dep[ccode]
    rank, cid_sorted = sorted_codes(conc["trip_id"].to_numpy(dtype=object))
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
    seq_f = seq[take].astype(np.int64, copy=False)
    stop_f = stop_raw[take]
    del arr, dep, seq, stop_raw, take, sh

    # ---- stop codes in sorted stop_id order (stops served on the day)
    seen = np.zeros(len(stop_values), dtype=bool)
    seen[stop_f] = True  # the stop values used, in code order, and each row's rank among them
    used = np.flatnonzero(seen)
    stop_inv = (np.cumsum(seen) - 1)[stop_f]
    del seen
    srank, stop_ids = sorted_codes(stop_values[used])
    stop_f = srank[stop_inv].astype(np.int32)

    # ---- the trips table, sorted by trip_id
    cstart = np.cumsum(lengths) - lengths
    ta = trips_act.iloc[ccode].reset_index(drop=True)
    mode = ta["route_id"].map(routes.drop_duplicates("route_id").set_index("route_id")["mode"]).fillna("other")
    trips = pd.DataFrame({
        "trip_id": cid_sorted.astype(str),
        "template_id": ctemplate.astype(str),
        "route_id": ta["route_id"].to_numpy(),
        "mode": mode.to_numpy(),
        "service_id": ta["service_id"].to_numpy(),
        "direction_id": ta["direction_id"].to_numpy(),
        "vehicle_energy": ta["vehicle_energy"].to_numpy(),
        "start_s": np.fmin.reduceat(dep_f, cstart) if n_conc else np.zeros(0),
        "end_s": np.fmax.reduceat(arr_f, cstart) if n_conc else np.zeros(0),
        "n_stops": lengths.astype(np.int64),
    })
    return FeedDay(feed=feed, date=date, crs=crs, stops=stops, routes=routes, trips=trips,
                   stop_ids=np.asarray(stop_ids, dtype=object), trip=trip_f, stop=stop_f, seq=seq_f,
                   arr=arr_f, dep=dep_f, notes=notes, city_name=city_name)


def read_day(path: str | Path, date: str | None = None, *, datum: str = "WGS84", crs: str | None = None,
             city_name: str = "", max_bytes: int = MAX_UNCOMPRESSED_BYTES,
             max_ratio: float = MAX_COMPRESSION_RATIO, stop_times: StopTimesStream | None = None) -> FeedDay:
    """Read a GTFS zip or folder and prepare one service day, streaming its stop times.

    The same day as ``prepare_day(read_feed(path, datum=datum), date,
    crs=crs)``, without ever holding ``stop_times.txt`` as text columns.
    ``stop_times``: the stream of this feed's stop times, when already
    started (:func:`citybridge.feed.stream.start_stop_times`; used when it
    reads the same member under the same limits, else cancelled).

    Raises
    ------
    FeedError
        Unsafe or unreadable archive, missing file or column, blank ids,
        unreadable stop sequences, no stop times, a date that is not
        ``YYYYMMDD`` or on which no trip runs.
    """
    import importlib

    path = Path(path)
    if date is not None and str(date).strip():
        date = to_date(str(date).strip()).strftime("%Y%m%d")
    fd, cols, names, read_notes = read_coded(path, datum=datum, max_bytes=max_bytes, max_ratio=max_ratio,
                                             stop_times=stop_times)
    if "trip_id" in cols and not len(cols["trip_id"].codes):
        raise FeedError(no_rows(path, "stop_times"))
    fd.datum = datum  # type: ignore[attr-defined]
    release_memory()
    # the projection library (first needed for the links' lengths) is loaded on a second thread
    # while this one prepares the day, mostly in numpy kernels that let go of the interpreter
    projection = in_background(importlib.import_module, "pyproj")
    day = build_day(fd, cols, names, date, crs=crs, label=f"{path}/{STOP_TIMES}",
                    notes=list(fd.notes) + read_notes, city_name=city_name)
    del cols
    projection()
    release_memory()
    return day


def prepare_day(feed, date: str | None = None, *, crs: str | None = None, city_name: str = "") -> FeedDay:
    """Build the :class:`~citybridge.engine.FeedDay` of a read feed for ``date``.

    ``date`` defaults to :func:`citybridge.feed.choose_date`; ``crs`` is the
    metric CRS for distances (default the UTM zone of the stops' median
    position). A feed read by :func:`read_day` (whose ``stop_times`` is
    empty) streams its stop times from its file again.

    Raises
    ------
    FeedError
        No stop times, or no trip runs on the date.
    """
    st = feed.stop_times
    src = getattr(feed, "source_path", None)
    if (st is None or st.empty) and src is not None:
        if not Path(src).exists():
            raise FeedError(f"{src}: " + tr("the feed's stop times are read from this file, which is no longer "
                                            "there; read the feed again (citybridge.feed.read_day or read_feed)"))
        _fd, cols, names, _n = read_coded(Path(src), datum=getattr(feed, "datum", "WGS84"),
                                          max_bytes=MAX_UNCOMPRESSED_BYTES, max_ratio=MAX_COMPRESSION_RATIO)
        label = f"{src}/{STOP_TIMES}"
    else:
        if st is None or st.empty:
            raise FeedError(no_rows(Path(src or "feed"), "stop_times"))
        cols, names, label = frame_columns(st), [str(c) for c in st.columns], f"{src or 'feed'}/{STOP_TIMES}"
    return build_day(feed, cols, names, date, crs=crs, label=label, city_name=city_name)


_DAY_CACHE: dict[tuple, FeedDay] = {}


def feed_day(city, date: str | None = None) -> FeedDay:
    """A city's analysis day, prepared once.

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
        ``YYYYMMDD``; default :func:`citybridge.feed.choose_date`.
    """
    from ..city import City, load_city

    if not isinstance(city, City):
        city = load_city(city)
    p = city.gtfs_path
    st = p.stat() if p.exists() else None
    key = (str(p.resolve()), st.st_size if st else 0, st.st_mtime_ns if st else 0, date or "",
           city.profile.source_datum, city.profile.crs)
    if key not in _DAY_CACHE:
        from ..artifacts import load_day, store_day

        day = load_day(city, date)
        if day is not None:
            day.feed.source_path = p  # type: ignore[attr-defined]  # the key is the content: it may have moved
        else:
            day = read_day(p, date, datum=city.profile.source_datum, crs=city.profile.crs, city_name=city.name)
            store_day(city, date, day)
        _DAY_CACHE[key] = day
    return _DAY_CACHE[key]


def copy_feed_folder(src: Path, dest: Path) -> None:
    """Copy a GTFS zip or folder (used by ``new-city``), never modifying ``src``."""
    if src.is_dir():
        shutil.copytree(src, dest)
    else:
        shutil.copy2(src, dest)
