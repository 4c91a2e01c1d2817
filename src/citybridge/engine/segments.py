"""Engine kernels: segment runs and their time-weighted aggregation."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..periods import Periods, period_codes, period_names, period_table
from .day import FeedDay, codes_of
from .trips import links

# --------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------

def _bounds(day: FeedDay) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Links of every trip grouped into segments: the row leaving each link
    (``i``), each segment's first and last link (``bs``, ``be``, indices
    into ``i``) and its length (m, NaN when a stop has no position)."""
    lk = links(day)
    i, dist = lk["i"], lk["dist"]
    n = len(i)
    pos = day.arr[i + 1] - day.dep[i] > 0
    starts = np.ones(n, dtype=bool)
    if n:
        ltrip = day.trip[i]
        starts[1:] = ltrip[1:] != ltrip[:-1]
        del ltrip
        starts[1:] |= pos[:-1]
    if starts.all():  # no zero run time to merge: one segment per link
        bs = np.arange(n)
        return i, bs, bs, dist
    bs = np.flatnonzero(starts)
    be = np.r_[bs[1:] - 1, n - 1] if n else bs
    unknown = np.isnan(dist)
    if n:
        dsum = np.add.reduceat(np.where(unknown, 0.0, dist), bs)
        dsum[np.add.reduceat(unknown.astype(np.int64), bs) > 0] = np.nan
    else:
        dsum = np.zeros(0)
    return i, bs, be, dsum


def segment_runs(day: FeedDay) -> dict[str, np.ndarray]:
    """Stop-to-stop segments run by every trip, zero run times merged forward.

    A link whose run time is zero or negative is merged with the link(s)
    after it in the same trip, up to the next link with a positive run time.

    Returns
    -------
    dict of arrays, one value per segment (before dropping any)
        ``trip`` (trip code), ``from_stop``, ``to_stop`` (stop codes),
        ``dep``, ``arr`` (s), ``dist`` (m, NaN when a stop has no position),
        ``n_links`` (count).
    """
    i, bs, be, dsum = _bounds(day)
    first, last = i[bs], i[be] + 1
    return {"trip": day.trip[first], "from_stop": day.stop[first], "to_stop": day.stop[last],
            "dep": day.dep[first], "arr": day.arr[last], "dist": dsum, "n_links": (be - bs + 1).astype(np.int32)}


def aggregate_segments(from_stop: np.ndarray, to_stop: np.ndarray, mode: np.ndarray, route: np.ndarray,
                       dep: np.ndarray, dist: np.ndarray, run: np.ndarray, *, stop_names: np.ndarray,
                       mode_names: np.ndarray, pt: pd.DataFrame | None) -> pd.DataFrame:
    """Speed per segment and mode (and period), time-weighted, over the runs given.

    The codes of ``from_stop``/``to_stop`` and of ``mode`` must follow the
    sorted order of ``stop_names`` and ``mode_names``; ``route`` is any
    integer code. Runs must have ``run > 0`` and a known ``dist``.

    Returns
    -------
    DataFrame
        One row per from × to × mode (× period when ``pt`` is given;
        ``"other"`` for departures outside every period), by period, then
        busiest first, then from and to stop id:

        - ``from_stop_id``, ``to_stop_id``, ``mode`` (and ``period``)
        - ``trips``, ``routes``: runs and distinct routes (counts)
        - ``distance_m`` (m), ``run_s`` (s): means
        - ``speed_kmh``: total distance / total run time (km/h)
        - ``speed_kmh_min``, ``speed_kmh_max``: slowest and fastest run (km/h)
    """
    P1 = 1 if pt is None else len(pt) + 1
    S, M = max(len(stop_names), 1), max(len(mode_names), 1)
    key = (from_stop.astype(np.int64) * S + to_stop) * M + mode
    if pt is not None:
        key = key * P1 + period_codes(dep, pt)
    # groups numbered in order of first appearance (hashing, no sort of the runs)
    gid, gkey = pd.factorize(key, sort=False)
    del key
    G = len(gkey)
    trips = np.bincount(gid, minlength=G).astype(np.int64)
    dist_sum = np.bincount(gid, weights=dist, minlength=G)
    run_sum = np.bincount(gid, weights=run, minlength=G)
    sp = dist / run * 3.6
    smin, smax = np.full(G, np.inf), np.full(G, -np.inf)
    np.minimum.at(smin, gid, sp)
    np.maximum.at(smax, gid, sp)
    del sp
    R = int(route.max(initial=0)) + 1
    routes = np.bincount(pd.unique(gid * R + route) // R, minlength=G).astype(np.int64)
    gkey = np.asarray(gkey, dtype=np.int64)
    g_per, g_mode = gkey % P1, gkey // P1 % M
    g_to, g_from = gkey // P1 // M % S, gkey // P1 // M // S
    fin = np.lexsort((np.arange(G), g_to, g_from, -trips, g_per))
    out = pd.DataFrame({
        "from_stop_id": stop_names[g_from[fin]] if G else np.zeros(0, dtype=object),
        "to_stop_id": stop_names[g_to[fin]] if G else np.zeros(0, dtype=object),
        "mode": mode_names[g_mode[fin]] if G else np.zeros(0, dtype=object),
    })
    if pt is not None:
        out["period"] = period_names(pt)[g_per[fin]]
    for c in list(out.columns):
        out[c] = out[c].astype(str)
    out["trips"] = trips[fin]
    out["routes"] = routes[fin]
    out["distance_m"] = dist_sum[fin] / trips[fin]
    out["run_s"] = run_sum[fin] / trips[fin]
    out["speed_kmh"] = dist_sum[fin] / run_sum[fin] * 3.6
    out["speed_kmh_min"] = smin[fin]
    out["speed_kmh_max"] = smax[fin]
    return out


def segment_stats(day: FeedDay, *, periods: Periods | None = None) -> pd.DataFrame:
    """Speed per segment, mode and period of the day (default periods when None).

    Same table as ``speed.segment_stats(speed.segment_speeds(day),
    periods=periods)``; columns as :func:`aggregate_segments` with ``period``.
    """
    i, bs, be, dsum = _bounds(day)
    first, last = i[bs], i[be] + 1
    del i
    dep = day.dep[first]
    run = day.arr[last] - dep
    ok = np.flatnonzero((run > 0) & ~np.isnan(dsum))
    if len(ok) < len(run):  # each array keeps only the runs used (a metropolitan day has millions)
        first, last, dep, run, dsum = first[ok], last[ok], dep[ok], run[ok], dsum[ok]
    del ok, bs, be
    mcode, mnames = codes_of(day.trips["mode"])
    rcode, _ = codes_of(day.trips["route_id"])
    t = day.trip[first]
    return aggregate_segments(day.stop[first], day.stop[last], mcode[t], rcode[t], dep, dsum, run,
                              stop_names=day.stop_ids, mode_names=mnames, pt=period_table(periods))
