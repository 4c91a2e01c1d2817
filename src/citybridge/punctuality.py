"""Punctuality and headway regularity from realtime data (chapter 08).

They need the GTFS trip each vehicle runs: VehiclePositions carrying the
day's ``trip_id`` and ``STOPPED_AT`` a stop, or TripUpdates. Both become
observed arrivals at stops (:func:`stop_events`), compared with the
schedule of :class:`citybridge.feed.FeedDay`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .feed import FeedDay
from .i18n import N_

#: punctuality window: from 1 min early to 5 min late is on time (s)
EARLY_S, LATE_S = 60.0, 300.0


def stop_events(day: FeedDay, *, timezone: str, positions: pd.DataFrame | None = None,
                trip_updates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Observed arrivals at stops of scheduled trips, with their delays.

    Two sources: VehiclePositions that carry a ``trip_id`` of the day and are
    ``STOPPED_AT`` a stop of that trip (time: the fix); and TripUpdates
    stop-time updates whose arrival (or departure) time has already passed
    at the snapshot (the last snapshot is kept). Events of trips unknown to
    the day are left out.

    Returns
    -------
    DataFrame
        ``trip_id``, ``route_id``, ``direction_id``, ``stop_id``,
        ``observed_s``, ``scheduled_s`` (s after local midnight of the
        service day), ``delay_s`` (observed − scheduled, s), ``source``
        (``positions`` or ``trip_updates``).
    """
    from .realtime import local_seconds

    cols = ["trip_id", "route_id", "direction_id", "stop_id", "observed_s", "scheduled_s", "delay_s", "source"]
    frames = []
    if positions is not None and len(positions):
        p = positions[positions["status"].eq("STOPPED_AT") & positions["trip_id"].ne("") & positions["stop_id"].ne("")]
        p = p.sort_values("fix_ts").drop_duplicates(["trip_id", "stop_id"])
        frames.append(pd.DataFrame({"trip_id": p["trip_id"], "stop_id": p["stop_id"], "source": "positions",
                                    "observed_s": local_seconds(p["fix_ts"], timezone=timezone, date=day.date)}))
    if trip_updates is not None and len(trip_updates):
        u = trip_updates.assign(t=trip_updates["arrival_time"].fillna(trip_updates["departure_time"]))
        u = u[u["t"].notna() & (u["t"] <= u["snapshot_ts"])]
        u = u.sort_values("snapshot_ts").drop_duplicates(["trip_id", "stop_id"], keep="last")
        frames.append(pd.DataFrame({"trip_id": u["trip_id"], "stop_id": u["stop_id"], "source": "trip_updates",
                                    "observed_s": local_seconds(u["t"], timezone=timezone, date=day.date)}))
    if not frames:
        return pd.DataFrame(columns=cols)
    ev = pd.concat(frames, ignore_index=True).drop_duplicates(["trip_id", "stop_id"])
    st = day.stop_times.drop_duplicates(["trip_id", "stop_id"])[["trip_id", "stop_id", "route_id", "arrival_s"]]
    ev = ev.merge(st, on=["trip_id", "stop_id"], how="inner").merge(
        day.trips[["trip_id", "direction_id"]], on="trip_id", how="left")
    ev["scheduled_s"] = ev["arrival_s"]
    ev["delay_s"] = ev["observed_s"] - ev["scheduled_s"]
    return ev[cols].reset_index(drop=True)


def punctuality(events: pd.DataFrame, *, early_s: float = EARLY_S, late_s: float = LATE_S) -> pd.DataFrame:
    """Share of observed arrivals early, on time and late.

    Returns
    -------
    DataFrame
        ``class`` (``early``: more than ``early_s`` early; ``on time``;
        ``late``: more than ``late_s`` late), ``arrivals`` (count),
        ``share`` (%), ``median_delay_s`` (s, over all arrivals; same on every row).
    """
    d = events["delay_s"]
    cls = np.select([d < -early_s, d > late_s], [N_("early"), N_("late")], N_("on time"))
    n = len(d)
    rows = [(c, int((cls == c).sum()), 100 * float((cls == c).mean()) if n else np.nan,
             float(d.median()) if n else np.nan) for c in ("early", "on time", "late")]
    return pd.DataFrame(rows, columns=["class", "arrivals", "share", "median_delay_s"])


def headway_regularity(events: pd.DataFrame) -> pd.DataFrame:
    """Observed against scheduled headways at each stop of each route and direction.

    Returns
    -------
    DataFrame
        One row per route, direction and stop with at least three observed
        arrivals: ``route_id``, ``direction_id``, ``stop_id``, ``arrivals``,
        ``observed_headway_min`` and ``scheduled_headway_min`` (means, min),
        ``cv`` (coefficient of variation of the observed headways: standard
        deviation ÷ mean; 0 is perfectly regular).
    """
    cols = ["route_id", "direction_id", "stop_id", "arrivals", "observed_headway_min", "scheduled_headway_min", "cv"]
    if events.empty:
        return pd.DataFrame(columns=cols)
    e = events.sort_values(["route_id", "direction_id", "stop_id", "observed_s"])
    key = ["route_id", "direction_id", "stop_id"]
    e = e.assign(h=e.groupby(key)["observed_s"].diff() / 60,
                 hs=e.sort_values(key + ["scheduled_s"]).groupby(key)["scheduled_s"].diff() / 60)
    g = e.groupby(key)
    out = g.agg(arrivals=("trip_id", "size"), observed_headway_min=("h", "mean"),
                scheduled_headway_min=("hs", "mean"), sd=("h", "std")).reset_index()
    out["cv"] = out["sd"] / out["observed_headway_min"]
    return out[out["arrivals"] >= 3][cols].reset_index(drop=True)
