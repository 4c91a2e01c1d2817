"""gtfs-kit's own indicator set for one feed and date (the benchmark's reference).

``python bench/gk_stats.py FEED YYYYMMDD`` reads the feed with
``gtfs_kit.read_feed``, keeps the date's trips (``restrict_to_dates``), expands
``frequencies.txt`` when present (``expand_frequencies``), then runs
``compute_trip_stats``, ``compute_stop_stats`` and ``compute_route_stats`` for
the date. Prints the time of each step and the row counts as JSON.
"""
from __future__ import annotations

import json
import sys
import time

if __name__ == "__main__":
    path, date = sys.argv[1], sys.argv[2]
    t = {"start": time.perf_counter()}
    import gtfs_kit as gk

    t["import"] = time.perf_counter()
    feed = gk.read_feed(path, dist_units="km")
    t["read"] = time.perf_counter()
    feed = gk.restrict_to_dates(feed, [date])
    if feed.frequencies is not None and not feed.frequencies.empty:
        feed = gk.expand_frequencies(feed)
    t["restrict"] = time.perf_counter()
    trip_stats = gk.compute_trip_stats(feed)
    t["trip_stats"] = time.perf_counter()
    stop_stats = gk.compute_stop_stats(feed, [date])
    t["stop_stats"] = time.perf_counter()
    route_stats = gk.compute_route_stats(feed, [date], trip_stats=trip_stats)
    t["route_stats"] = time.perf_counter()
    keys = list(t)
    print(json.dumps({
        "steps_s": {k: t[k] - t[p] for p, k in zip(keys, keys[1:])},
        "compute_s": t["route_stats"] - t["restrict"],
        "stop_times": int(len(feed.stop_times)), "trips": int(len(trip_stats)),
        "rows": {"trip_stats": len(trip_stats), "stop_stats": len(stop_stats), "route_stats": len(route_stats)},
    }))
