"""Engine kernels: departures by stop and period."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..periods import Periods, period_codes, period_table
from .day import FeedDay, codes_of

# --------------------------------------------------------------------------
# Stops
# --------------------------------------------------------------------------

def stop_departures(day: FeedDay, *, periods: Periods | None = None,
                    key: pd.Series | None = None) -> pd.DataFrame:
    """Departures per stop (or group of stops) and period, all directions and one-way.

    A departure is a stop time that is not the last stop (highest
    stop_sequence) of its trip; departures outside every period are not
    counted. For one-way counts only each route's busiest direction counts,
    then routes are summed.

    Parameters
    ----------
    day
        The service day.
    periods
        ``{name: ("HH:MM", "HH:MM")}``; default ``DEFAULT_PERIODS``.
    key
        Maps ``stop_id`` to a group (e.g. its parent station); None groups
        by ``stop_id``. Stops not in ``key`` are their own group.

    Returns
    -------
    DataFrame
        One row per group with a stop served on the day × period (groups
        sorted, periods in the order given):

        - ``key``: the group (``stop_id`` without ``key``)
        - ``period``: period name
        - ``departures``: departures, all routes and directions (count)
        - ``departures_one_way``: each route's busiest direction only (count)
        - ``routes``: routes departing (count)
        - ``trips_per_hour``: ``departures_one_way`` per hour of the period (1/h)
        - ``mean_headway_min``: period minutes / ``departures_one_way`` (min);
          NaN without departures
        - ``modes``: modes serving the group on the day, sorted, comma-separated
    """
    pt = period_table(periods)
    P = len(pt)
    if key is None:
        gname = day.stop_ids
        gstop = np.arange(len(gname), dtype=np.int64)
    else:
        k = pd.Series(day.stop_ids).map(key)
        k = k.where(k.notna(), pd.Series(day.stop_ids)).to_numpy(dtype=object)
        gstop, gname = codes_of(k)
    S = len(gname)
    trip = day.trip
    stop = gstop[day.stop] if len(day.stop) else np.zeros(0, np.int64)
    mcode, mnames = codes_of(day.trips["mode"])
    rcode, _ = codes_of(day.trips["route_id"])
    dcode, _ = codes_of(day.trips["direction_id"])
    M, R, D = max(len(mnames), 1), int(rcode.max(initial=0)) + 1, int(dcode.max(initial=0)) + 1
    has = np.zeros((S, M), dtype=bool)
    has[stop, mcode[trip]] = True
    modes = np.full(S, "", dtype=object)
    for m in np.argsort(mnames.astype(str)):
        modes = modes + np.where(has[:, m], mnames[m] + ",", "")
    modes = pd.Series(modes, dtype=object).str.rstrip(",").to_numpy(dtype=object)
    starts = day.trip_starts()
    present = starts < len(trip)
    last = np.zeros(len(day.trips), np.int64)
    if present.any():
        last[present] = np.maximum.reduceat(day.seq, starts[present])
    keep = day.seq < last[trip]
    per = period_codes(day.dep[keep], pt)
    inside = per < P
    t_keep = trip[keep][inside]
    k4 = ((stop[keep][inside] * P + per[inside]) * R + rcode[t_keep]) * D + dcode[t_keep]
    del keep, per, inside, t_keep
    k4, n = np.unique(k4, return_counts=True)
    k3 = k4 // D
    b3 = np.flatnonzero(np.r_[True, k3[1:] != k3[:-1]]) if len(k3) else np.zeros(0, np.int64)
    s3 = np.add.reduceat(n, b3) if len(b3) else np.zeros(0, np.int64)
    m3 = np.maximum.reduceat(n, b3) if len(b3) else np.zeros(0, np.int64)
    k2 = k3[b3] // R
    dep = np.bincount(k2, weights=s3, minlength=S * P).astype(np.int64)
    one = np.bincount(k2, weights=m3, minlength=S * P).astype(np.int64)
    nr = np.bincount(k2, minlength=S * P).astype(np.int64)
    minutes = np.tile(pt["minutes"].to_numpy(dtype=float), S)
    out = pd.DataFrame({
        "key": np.repeat(gname, P).astype(str),
        "period": np.tile(pt["period"].to_numpy(dtype=object), S).astype(str),
        "departures": dep, "departures_one_way": one, "routes": nr,
    })
    out["trips_per_hour"] = one / (minutes / 60)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mean_headway_min"] = minutes / np.where(one > 0, one, np.nan)
    out["modes"] = np.repeat(modes, P).astype(str)
    return out


def stop_stats(day: FeedDay, *, periods: Periods | None = None) -> pd.DataFrame:
    """Departures, trips per hour and headway per stop and period.

    Returns
    -------
    DataFrame
        One row per stop served on the day × period (stops sorted):
        ``stop_id``, ``stop_name``, then the columns of
        :func:`stop_departures` after ``key``: ``period``, ``departures``,
        ``departures_one_way``, ``routes`` (counts), ``trips_per_hour``
        (1/h), ``mean_headway_min`` (min), ``modes``.
    """
    out = stop_departures(day, periods=periods).rename(columns={"key": "stop_id"})
    names = day.stops.drop_duplicates("stop_id").set_index("stop_id")["stop_name"]
    out.insert(1, "stop_name", out["stop_id"].map(names).fillna("").astype(str))
    return out


