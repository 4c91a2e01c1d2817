"""Engine kernels: stop-to-stop links and per-trip distance and duration."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..periods import Periods, period_of
from .day import FeedDay

# --------------------------------------------------------------------------
# Links and trips
# --------------------------------------------------------------------------

def links(day: FeedDay) -> dict[str, np.ndarray]:
    """Consecutive stop pairs within trips (computed once per day).

    Returns
    -------
    dict
        ``i``: row of the stop time leaving each link (int32; the link
        reaches row ``i + 1``); ``dist``: straight-line length in
        ``day.crs`` (m; NaN when a stop has no position).
    """
    if "links" in day._cache:
        return day._cache["links"]
    xy = day.stops_xy()
    xy = xy[~xy.index.duplicated()]
    pos = xy.index.get_indexer(day.stop_ids)
    known = pos >= 0
    sx = np.where(known, xy["x"].to_numpy(dtype=float)[pos], np.nan)
    sy = np.where(known, xy["y"].to_numpy(dtype=float)[pos], np.nan)
    i = np.flatnonzero(day.trip[1:] == day.trip[:-1])
    a, b = day.stop[i].astype(np.intp), day.stop[i + 1].astype(np.intp)  # gathers by intp are the fast ones
    i = i.astype(np.int32)
    with np.errstate(invalid="ignore"):
        dist = np.hypot(sx[b] - sx[a], sy[b] - sy[a])
    dist[~np.isfinite(dist)] = np.nan
    day._cache["links"] = {"i": i, "dist": dist}
    return day._cache["links"]


def trip_stats(day: FeedDay, *, periods: Periods | None = None) -> pd.DataFrame:
    """One row per concrete trip of the day with its distance, duration and period.

    Parameters
    ----------
    day
        The prepared service day.
    periods
        Periods used for the ``period`` column; default ``DEFAULT_PERIODS``.

    Returns
    -------
    DataFrame
        Sorted by ``trip_id``:

        - ``trip_id``, ``template_id``, ``route_id``, ``mode``, ``direction_id``
        - ``start_s``: first departure (s after midnight of the service day)
        - ``end_s``: last arrival (s)
        - ``duration_h``: ``end_s - start_s`` (h)
        - ``distance_km``: sum of straight-line stop-to-stop distances (km);
          NaN when a stop of the trip has no position
        - ``period``: the period in which the trip starts (or ``"other"``)
    """
    lk = links(day)
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


