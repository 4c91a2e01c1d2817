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
    lk = links(day)
    i, dist = lk["i"], lk["dist"]
    j = i + 1
    n = len(i)
    ltrip = day.trip[i]
    pos = day.arr[j] - day.dep[i] > 0
    starts = np.ones(n, dtype=bool)
    if n:
        starts[1:] = ltrip[1:] != ltrip[:-1]
        starts[1:] |= pos[:-1]
    bs = np.flatnonzero(starts)
    be = np.r_[bs[1:] - 1, n - 1] if n else bs
    unknown = np.isnan(dist)
    if n:
        dsum = np.add.reduceat(np.where(unknown, 0.0, dist), bs)
        dsum[np.add.reduceat(unknown.astype(np.int64), bs) > 0] = np.nan
    else:
        dsum = np.zeros(0)
    return {"trip": ltrip[bs], "from_stop": day.stop[i[bs]], "to_stop": day.stop[j[be]],
            "dep": day.dep[i[bs]], "arr": day.arr[j[be]], "dist": dsum, "n_links": (be - bs + 1).astype(np.int32)}


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
    per = np.zeros(len(dep), np.int64) if pt is None else period_codes(dep, pt).astype(np.int64)
    key = ((from_stop.astype(np.int64) * S + to_stop) * M + mode) * P1 + per
    order = np.argsort(key, kind="stable")
    ks = key[order]
    new = np.r_[True, ks[1:] != ks[:-1]] if len(ks) else np.zeros(0, bool)
    gb = np.flatnonzero(new)
    gid = np.empty(len(ks), dtype=np.int64)
    gid[order] = np.cumsum(new) - 1
    G = len(gb)
    trips = np.bincount(gid, minlength=G).astype(np.int64)
    dist_sum = np.bincount(gid, weights=dist, minlength=G)
    run_sum = np.bincount(gid, weights=run, minlength=G)
    sp = (dist / run * 3.6)[order]
    smin = np.minimum.reduceat(sp, gb) if G else np.zeros(0)
    smax = np.maximum.reduceat(sp, gb) if G else np.zeros(0)
    R = int(route.max(initial=0)) + 1
    routes = np.bincount(np.unique(gid * R + route) // R, minlength=G).astype(np.int64)
    gkey = ks[gb]
    g_per, g_mode = gkey % P1, gkey // P1 % M
    g_to, g_from = gkey // P1 // M % S, gkey // P1 // M // S
    fin = np.lexsort((order[gb], g_to, g_from, -trips, g_per))
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
    s = segment_runs(day)
    run = s.pop("arr") - s["dep"]
    ok = (run > 0) & ~np.isnan(s["dist"])
    mcode, mnames = codes_of(day.trips["mode"])
    rcode, _ = codes_of(day.trips["route_id"])
    t = s.pop("trip")[ok]
    kept = {k: s.pop(k)[ok] for k in ("from_stop", "to_stop", "dep", "dist")}
    run = run[ok]
    del s, ok  # each run array is dropped once its kept rows are taken (a metropolitan day has millions)
    return aggregate_segments(kept["from_stop"], kept["to_stop"], mcode[t], rcode[t], kept["dep"], kept["dist"], run,
                              stop_names=day.stop_ids, mode_names=mnames, pt=period_table(periods))
