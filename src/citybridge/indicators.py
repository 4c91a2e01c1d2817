"""``citybridge indicators``: the indicator tables of any feed, written to files.

``citybridge indicators FEED --date YYYYMMDD --out DIR`` calls
:func:`run_indicators`, which prepares the day with
:func:`citybridge.feed.read_day` (stop times streamed as integer codes) and
writes four tables without running a notebook:

==================  ==========================================================
``trip_stats``      :func:`citybridge.service.trip_table`, sorted by ``trip_id``
``stop_stats``      :func:`citybridge.service.stop_stats`
``route_stats``     :func:`citybridge.service.route_stats`
``segment_stats``   :func:`citybridge.speed.segment_stats` of
                    :func:`citybridge.speed.segment_speeds`, by period
==================  ==========================================================

plus ``indicators.json`` (date, CRS, row counts, what was fixed on the way in).
The notebooks run the same engine (:mod:`citybridge.engine`) on the same
day, so the values are those of the notebook functions by construction.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from . import engine as E
from .errors import CitybridgeError, FeedError
from .feed import FeedDay, read_day
from .feed.stream import StopTimesStream
from .periods import Periods, period_table
from .service import route_table

#: Output tables, in the order they are written.
TABLES = ("trip_stats", "stop_stats", "route_stats", "segment_stats")
FORMATS = ("parquet", "csv")


def indicator_tables(day: FeedDay, *, periods: Periods | None = None) -> dict[str, pd.DataFrame]:
    """The four indicator tables of :data:`TABLES` for the day.

    Returns
    -------
    dict of DataFrame
        ``trip_stats`` (:func:`citybridge.engine.trip_stats`),
        ``stop_stats`` (:func:`citybridge.engine.stop_stats`),
        ``route_stats`` (:func:`citybridge.service.route_table`) and
        ``segment_stats`` (:func:`citybridge.engine.segment_stats`); their
        columns and units are listed there.
    """
    # A second thread makes the stop table (which needs no link) while this one makes the links (kept on
    # the day for every other table); then it makes the segment table while this one makes the trip
    # and route tables. numpy and the hashing kernels let go of the interpreter; no table changes the day.
    from concurrent.futures import ThreadPoolExecutor

    day.trip_starts()
    with ThreadPoolExecutor(1, thread_name_prefix="citybridge-tables") as pool:
        stops = pool.submit(E.stop_stats, day, periods=periods)
        E.links(day)
        seg = pool.submit(E.segment_stats, day, periods=periods)  # links ready; after the stops (one worker)
        t = E.trip_stats(day, periods=periods)
        routes = route_table(t, day.routes, periods=periods)
        return {"trip_stats": t, "stop_stats": stops.result(), "route_stats": routes,
                "segment_stats": seg.result()}


def _write(df: pd.DataFrame, path: Path, fmt: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "parquet":
        df.to_parquet(tmp, index=False)
    else:
        df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def run_indicators(feed: Path, date: str, out: Path, *, fmt: str = "parquet", datum: str = "WGS84",
                   periods: Periods | None = None, stop_times: StopTimesStream | None = None) -> list[Path]:
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
    stop_times
        The feed's stop times already being read
        (:func:`citybridge.feed.stream.start_stop_times`), or None; the
        caller cancels it if this function stops before using it.

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
    day = read_day(Path(feed), date, datum=datum, stop_times=stop_times)
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




__all__ = ["TABLES", "indicator_tables", "read_day", "run_indicators"]
