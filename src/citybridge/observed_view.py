"""Chapter 08 in one call: a city's observed operations, summary, maps and chart.

:func:`analyse` runs every step of :mod:`citybridge.observed` on a city's
realtime inputs and keeps the result for the life of the process (keyed by
the files), so the chapter and the KPI board compute it once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import observed as O
from . import punctuality as P
from . import realtime as R

NO_REALTIME = ("{name} declares no realtime inputs, so nothing here can be computed for it. Add GTFS-Realtime "
               "VehiclePositions snapshots (record them with 'citybridge realtime record {slug} --url URL "
               "--every 30 --for 60') or an AVL table (time, vehicle, lat, lon; optional route, trip, direction, "
               "speed), and declare them under 'realtime:' in city.yml. That unlocks: vehicles in service against "
               "the schedule, positions matched to the network, observed speeds and congestion by street "
               "segment, bunching, punctuality and headway regularity (with trip ids or TripUpdates) and the "
               "quality of the position data.")


@dataclass
class ObservedDay:
    """Everything chapter 08 shows for one city (see :func:`analyse`).

    Attributes
    ----------
    positions : DataFrame
        Positions matched to the network (:func:`citybridge.observed.match_positions`)
        plus ``state`` (:func:`citybridge.observed.classify_status`) and ``mode``.
    lines, stops : DataFrame
        Route-direction lines and their stops (:func:`citybridge.observed.route_shapes`).
    moves, segments, fleet, bunching, quality, events, punctuality, headways : DataFrame
        The tables of the functions of the same name in :mod:`citybridge.observed`.
    date : str
        The service day compared with (YYYYMMDD); ``date_note`` says why.
    captured : str
        The capture's local date and times.
    settings : dict
        Distances (m) and thresholds (s) used.
    """

    city: object
    day: object
    positions: pd.DataFrame
    lines: pd.DataFrame
    stops: pd.DataFrame
    moves: pd.DataFrame
    segments: pd.DataFrame
    fleet: pd.DataFrame
    bunching: pd.DataFrame
    quality: pd.DataFrame
    events: pd.DataFrame
    punctuality: pd.DataFrame
    headways: pd.DataFrame
    date: str
    date_note: str
    captured: str
    capture_date: str
    settings: dict = field(default_factory=dict)


def comparable_date(feed, capture_date: str) -> tuple[str, str]:
    """The feed's service day to compare a capture of ``capture_date`` (YYYYMMDD) with.

    The capture date itself when the feed runs service on it; otherwise the
    feed's date of the same weekday, inside its calendar, with the most
    common number of trips for that weekday (so not a holiday), nearest to
    the capture. Returns ``(date, note)``.
    """
    from .feed import feed_date_range, trips_by_date

    cap = dt.datetime.strptime(capture_date, "%Y%m%d").date()
    lo, hi = feed_date_range(feed)
    if lo <= cap <= hi and trips_by_date(feed, [cap]).iloc[0] > 0:
        return capture_date, f"the capture's own date, {cap:%A %Y-%m-%d}, is in the feed's calendar"
    days = [lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1)]
    same = [d for d in days if d.weekday() == cap.weekday()]
    counts = trips_by_date(feed, same) if same else pd.Series(dtype=float)
    counts = counts[counts > 0]
    if counts.empty:
        return "", f"the feed runs no service on any {cap:%A}"
    typical = counts.mode().iloc[0]
    cand = [d for d in same if counts.get(d.strftime("%Y%m%d"), 0) == typical]
    best = min(cand, key=lambda d: abs((d - cap).days))
    return (best.strftime("%Y%m%d"), f"the capture ({cap:%A %Y-%m-%d}) is outside the feed's calendar "
            f"({lo:%Y-%m-%d} to {hi:%Y-%m-%d}); it is compared with the scheduled {best:%A %Y-%m-%d}, a "
            f"typical {cap:%A} of the feed ({int(typical):,} trips)")


_CACHE: dict[tuple, ObservedDay] = {}


def _files_key(city) -> tuple:
    spec = city.profile.realtime
    files = []
    for rel in (spec.vehicle_positions, spec.trip_updates, spec.avl.file if spec.avl else None):
        if rel and (city.folder / rel).exists():
            p = city.folder / rel
            for f in ([p] if p.is_file() else sorted(p.iterdir())):
                st = f.stat()
                files.append((str(f), st.st_size, st.st_mtime_ns))
    g = city.gtfs_path.stat() if city.gtfs_path.exists() else None
    return (str(city.folder.resolve()), tuple(files), g.st_size if g else 0, g.st_mtime_ns if g else 0)


def analyse(city, *, max_distance_m: float = O.MATCH_DISTANCE_M, bunch_distance_m: float = O.BUNCH_DISTANCE_M,
            stale_after_s: float = O.STALE_AFTER_S, date: str | None = None) -> ObservedDay | None:
    """Observed operations of a city, or None when it declares no realtime inputs.

    Raises
    ------
    DataError
        The realtime inputs cannot be read (file, field and entity named).
    """
    if not R.has_realtime(city):
        return None
    key = (_files_key(city), max_distance_m, bunch_distance_m, stale_after_s, date or "")
    if key in _CACHE:
        return _CACHE[key]
    from .artifacts import stored
    from .feed import feed_day

    params = {"max_distance_m": max_distance_m, "bunch_distance_m": bunch_distance_m,
              "stale_after_s": stale_after_s}
    # stored without its service day (kept on disk on its own), which is read back here
    obs, day_date = stored(city, "observed", lambda: _observe(city, date=date, **params), params=params, date=date)
    obs = replace(obs, city=city, day=feed_day(city, day_date))
    _CACHE[key] = obs
    return obs


def _observe(city, *, max_distance_m: float, bunch_distance_m: float, stale_after_s: float,
             date: str | None) -> tuple[ObservedDay, str | None]:
    """:func:`analyse` computed, without its service day, and the date the day is read for."""
    from .feed import feed_day, read_feed

    spec = city.profile.realtime
    tz = city.profile.timezone
    pos = R.city_positions(city)
    if pos.empty:
        from .errors import DataError

        raise DataError(f"{city.folder / (spec.vehicle_positions or spec.avl.file)}: no vehicle position in the "
                        "realtime inputs; record snapshots again")
    capture_date = R.local_date(float(pos["snapshot_ts"].min()), tz)
    note = "date given by the reader"
    if not date:
        feed = read_feed(city.gtfs_path, datum=city.profile.source_datum)
        date, note = comparable_date(feed, capture_date)
        if not date:
            date = None
            note += "; the chapters' default analysis day is used instead"
    day = feed_day(city, date)
    modes = O.position_modes(pos, day, route_ids=spec.route_ids, default=spec.mode)
    lines, stops = O.route_shapes(day, modes=sorted(set(modes)))
    matched = O.match_positions(pos, lines, crs=day.crs, max_distance_m=max_distance_m)
    matched["state"] = O.classify_status(matched).to_numpy()
    matched["mode"] = modes.to_numpy()
    moves = O.observed_moves(matched, lines, crs=day.crs, max_distance_m=max_distance_m, stale_after_s=stale_after_s)
    hours = sorted(set((R.local_seconds(pos["snapshot_ts"], timezone=tz, date=capture_date) // 3600).astype(int)))
    sched = O.scheduled_links(day, hours=hours)
    segments = O.segment_comparison(moves, stops, sched)
    fleet = O.fleet_vs_schedule(matched, day, timezone=tz, modes=modes, stale_after_s=stale_after_s,
                                capture_date=capture_date)
    bunch = O.bunching(pos, crs=day.crs, distance_m=bunch_distance_m, stale_after_s=stale_after_s)
    quality = O.data_quality(matched, stale_after_s=stale_after_s, max_distance_m=max_distance_m)
    events = P.stop_events(day, timezone=tz, positions=pos if spec.route_ids == "gtfs" else None,
                           trip_updates=R.city_trip_updates(city))
    times = sorted(set(fleet["time"]))
    obs = ObservedDay(city=city, day=day, positions=matched, lines=lines, stops=stops, moves=moves,
                      segments=segments, fleet=fleet, bunching=bunch, quality=quality, events=events,
                      punctuality=P.punctuality(events), headways=P.headway_regularity(events), date=day.date,
                      date_note=note, capture_date=capture_date,
                      captured=f"{capture_date[:4]}-{capture_date[4:6]}-{capture_date[6:]} at {', '.join(times)} "
                               f"({tz})",
                      settings={"match_distance_m": max_distance_m, "bunch_distance_m": bunch_distance_m,
                                "stale_after_s": stale_after_s})
    return replace(obs, day=None), date


def summary(obs: ObservedDay) -> pd.DataFrame:
    """The headline figures of chapter 08 (and of the KPI theme ``observed``).

    Returns
    -------
    DataFrame
        ``indicator``, ``value``, ``unit``, ``definition`` (each definition
        ends with the capture's date and times): vehicles seen, scheduled
        trips in progress, share matched, median observed and scheduled
        speed on matched segments, bunched pairs, stale share, and
        punctuality where trip ids or TripUpdates exist.
    """
    s = obs.settings
    f = obs.fleet.groupby("snapshot_ts")[["seen", "on_network", "scheduled"]].sum()
    seg = obs.segments.dropna(subset=["scheduled_kmh"])
    q = obs.quality.set_index("indicator")["value"]
    per = len(obs.fleet["snapshot_ts"].unique()) or 1
    rows = [("vehicles seen", f["seen"].mean() if len(f) else np.nan, "vehicles",
             "distinct vehicles in a snapshot, mean over the snapshots"),
            ("vehicles on the network", f["on_network"].mean() if len(f) else np.nan, "vehicles",
             f"vehicles with a fresh fix within {s['match_distance_m']:.0f} m of a route line, mean over the snapshots"),
            ("scheduled trips in progress", f["scheduled"].mean() if len(f) else np.nan, "trips",
             f"trips of the scheduled {obs.date} in progress at the snapshots' times, mean"),
            ("positions matched to a route", 100 - q["far from every route"], "% of positions",
             f"within {s['match_distance_m']:.0f} m of a route-direction line (geometry only)"),
            ("median observed speed", seg["observed_kmh"].median() if len(seg) else np.nan, "km/h",
             "median over the street segments with observed moves and a scheduled run at that hour"),
            ("median scheduled speed", seg["scheduled_kmh"].median() if len(seg) else np.nan, "km/h",
             "median scheduled speed of the same segments in the same hour"),
            ("bunched pairs", len(obs.bunching) / per, "pairs per snapshot",
             f"moving buses of one service and direction less than {s['bunch_distance_m']:.0f} m apart"),
            ("stale fixes", q["stale fixes"], "% of positions",
             f"GPS fix older than {s['stale_after_s'] / 60:.0f} min at capture")]
    if len(obs.events):
        p = obs.punctuality.set_index("class")
        rows.append(("on-time arrivals", p.loc["on time", "share"], "% of arrivals",
                     f"from {P.EARLY_S / 60:.0f} min early to {P.LATE_S / 60:.0f} min late"))
    out = pd.DataFrame(rows, columns=["indicator", "value", "unit", "definition"])
    out["definition"] = out["definition"] + "; captured " + obs.captured
    return out


def _segment_lines(seg: pd.DataFrame) -> gpd.GeoDataFrame:
    coords = np.stack([seg[["from_lon", "from_lat"]].to_numpy(float), seg[["to_lon", "to_lat"]].to_numpy(float)], 1)
    return gpd.GeoDataFrame(seg.reset_index(drop=True), geometry=shapely.linestrings(coords), crs="EPSG:4326")


RATIO_CLASSES = {"under half the scheduled speed": "#b2182b", "half to 80%": "#ef8a62",
                 "80% to 120%": "#9e9e9e", "faster than scheduled": "#2166ac", "no scheduled run": "#d9d9d9"}
STATE_COLORS = {"moving": "#1a9850", "at stop": "#2166ac", "stopped elsewhere": "#d73027"}


def ratio_class(ratio: pd.Series) -> pd.Series:
    """Observed ÷ scheduled speed in the four classes of the congestion map."""
    r = ratio.to_numpy(float)
    names = list(RATIO_CLASSES)
    return pd.Series(np.select([np.isnan(r), r < 0.5, r < 0.8, r <= 1.2], [names[4], names[0], names[1], names[2]],
                               names[3]), index=ratio.index)


def vehicle_map(obs: ObservedDay):
    """Offline map: route-direction lines and the last snapshot's vehicles by state."""
    from . import maps

    last = obs.positions[obs.positions["snapshot_ts"] == obs.positions["snapshot_ts"].max()]
    lines = gpd.GeoDataFrame(obs.lines.drop(columns="geometry"), geometry=obs.lines["geometry"].to_numpy(),
                             crs=obs.day.crs).to_crs("EPSG:4326")
    m = maps.base_map(maps.bounds_of(last, lat="lat", lon="lon"))
    maps.add_lines(m, lines.assign(kind="route"), color_by="kind", colors={"route": "#9e9e9e"}, weight=1.5,
                   simplify_m=50.0,
                   tooltip=["route_id", "direction_id"], aliases=["route", "direction"], name="route lines")
    last = last.assign(speed=last["speed_kmh"].round(0))
    maps.add_points(m, last, color_by="state", colors=STATE_COLORS, lat="lat", lon="lon", radius=2.5,
                    tooltip=["route_id", "state", "speed"], aliases=["service", "state", "km/h"], name="vehicles")
    if len(obs.bunching):
        maps.add_points(m, obs.bunching.assign(kind="bunched"), color_by="kind", colors={"bunched": "#6a3d9a"},
                        lat="lat", lon="lon", radius=5, tooltip=["service", "vehicle_a", "vehicle_b", "distance_m"],
                        aliases=["service", "bus", "bus", "apart (m)"], name="bunched pairs")
    maps.add_legend(m, "Vehicles", {**STATE_COLORS, "bunched pair": "#6a3d9a"})
    return maps.finish(m)


def street_segments(segments: pd.DataFrame) -> pd.DataFrame:
    """Segments of several routes between the same two stops merged into one street segment.

    Returns
    -------
    DataFrame
        ``from_stop_id``, ``to_stop_id``, ``routes`` (route-directions
        merged), ``moves``, ``observed_m`` (m), ``observed_s`` (s),
        ``observed_kmh`` (Σ m ÷ Σ s, km/h), ``scheduled_kmh`` (mean over the
        merged route-directions with a scheduled run, km/h), ``ratio``, and
        the end coordinates ``from_lat``, ``from_lon``, ``to_lat``, ``to_lon``.
    """
    g = segments.groupby(["from_stop_id", "to_stop_id"], sort=False)
    out = g.agg(routes=("shape_key", "size"), moves=("moves", "sum"), observed_m=("observed_m", "sum"),
                observed_s=("observed_s", "sum"), scheduled_kmh=("scheduled_kmh", "mean"),
                from_lat=("from_lat", "first"), from_lon=("from_lon", "first"), to_lat=("to_lat", "first"),
                to_lon=("to_lon", "first")).reset_index()
    out["observed_kmh"] = out["observed_m"] / out["observed_s"] * 3.6
    out["ratio"] = out["observed_kmh"] / out["scheduled_kmh"]
    return out


def congestion_map(obs: ObservedDay):
    """Offline map: segments coloured by observed ÷ scheduled speed."""
    from . import maps

    seg = street_segments(obs.segments)
    seg = seg.assign(speed_class=ratio_class(seg["ratio"]), observed=seg["observed_kmh"].round(0),
                     scheduled=seg["scheduled_kmh"].round(0))
    g = _segment_lines(seg)
    m = maps.base_map(maps.bounds_of(g))
    maps.add_lines(m, g, color_by="speed_class", colors=RATIO_CLASSES, weight=4,
                   tooltip=["observed", "scheduled", "moves"], aliases=["observed km/h", "scheduled km/h", "moves"],
                   name="segments")
    maps.add_legend(m, "Observed ÷ scheduled speed", RATIO_CLASSES)
    return maps.finish(m)


def fleet_chart(obs: ObservedDay):
    """Bars: vehicles seen and trips scheduled at each snapshot, by mode."""
    import plotly.graph_objects as go

    from .charts import style

    f = obs.fleet
    fig = go.Figure()
    for mode in sorted(set(f["mode"])):
        d = f[f["mode"] == mode]
        fig.add_trace(go.Bar(x=d["time"], y=d["seen"], name=f"{mode}: vehicles seen", marker_color="#1a9850"))
        fig.add_trace(go.Bar(x=d["time"], y=d["on_network"], name=f"{mode}: fresh fix on the network",
                             marker_color="#91cf60"))
        fig.add_trace(go.Bar(x=d["time"], y=d["scheduled"], name=f"{mode}: trips scheduled in progress",
                             marker_color="#9e9e9e"))
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="snapshot (local time)")
    fig.update_yaxes(title="vehicles / trips")
    return style(fig, title="Vehicles seen against the schedule")


def no_realtime(city) -> str:
    """The plain statement shown where a city has no realtime data."""
    return NO_REALTIME.format(name=city.name, slug=city.slug)


# --------------------------------------------------------------------------
# Sentences and tables for the chapter
# --------------------------------------------------------------------------

def source_line(obs: ObservedDay) -> str:
    """Where the figures come from: the positions, the schedule, and the network's data status."""
    spec = obs.city.profile.realtime
    s = (f"vehicle positions: {spec.source or 'realtime inputs of city.yml'}; schedule: {obs.city.name} GTFS "
         f"({obs.city.gtfs_path.name}), service day {obs.date}")
    if obs.city.status == "illustrative":
        s += "; the network is illustrative sample data"
    else:
        s += f"; network data status: {obs.city.status}"
    return s


def status_sentence(city, obs: ObservedDay | None, problem: str = "") -> str:
    """One plain sentence on what this page rests on (or why it is empty)."""
    if obs is None:
        return problem or no_realtime(city)
    net = ("an illustrative sample network (not the operator's schedule), so matching, speeds and the schedule "
           "comparison describe the method, not the real city" if city.status == "illustrative" else
           f"the city's GTFS feed ({city.status} data)")
    return (f"{len(obs.positions):,} vehicle positions captured {obs.captured} are compared with {net}. "
            f"Service day compared: {obs.date} ({obs.date_note}).")


def matching_sentence(obs: ObservedDay) -> str:
    """Share of positions matched to the network, and where the lines come from."""
    p = obs.positions
    src = obs.lines["source"].value_counts()
    how = ", ".join(f"{n:,} from {k}" for k, n in src.items()) or "none"
    return (f"{100 * p['matched'].mean():.1f}% of the {len(p):,} positions lie within "
            f"{obs.settings['match_distance_m']:.0f} m of one of the {len(obs.lines):,} route-direction lines "
            f"({how}); matching uses geometry only, never the service codes carried by the positions.")


def speed_sentence(obs: ObservedDay) -> str:
    """Observed against scheduled speed on the segments with both."""
    seg = obs.segments.dropna(subset=["scheduled_kmh"])
    if seg.empty:
        return ("No street segment has both observed moves and a scheduled run at the capture's hours, so observed "
                "and scheduled speeds cannot be compared here.")
    return (f"{len(obs.moves):,} moves between consecutive fresh fixes give observed speeds on {len(seg):,} "
            f"segments that also have scheduled runs in the same hour: median observed "
            f"{seg['observed_kmh'].median():.1f} km/h against median scheduled {seg['scheduled_kmh'].median():.1f} "
            f"km/h; {100 * (seg['ratio'] < 0.8).mean():.0f}% of these segments run below 80% of their scheduled "
            "speed.")


def bunching_sentence(obs: ObservedDay) -> str:
    """Bunched pairs per snapshot."""
    n = obs.bunching.groupby("snapshot_ts").size()
    d = obs.settings["bunch_distance_m"]
    if obs.positions["route_id"].astype(str).str.strip().eq("").all():
        return "The positions carry no route or service code, so buses of the same service cannot be paired."
    if n.empty:
        return f"No two moving buses of the same service and direction were closer than {d:.0f} m."
    return (f"{len(obs.bunching):,} bunched pairs in {obs.fleet['snapshot_ts'].nunique()} snapshots "
            f"(between {n.min():,} and {n.max():,} per snapshot): moving buses of the same service and direction "
            f"less than {d:.0f} m apart, by the service code the feed carries.")


def corridor_tables(obs: ObservedDay, *, n: int = 15) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The slowest segments as observed, and the slowest as scheduled, among segments with both.

    Returns two tables with ``route|direction``, ``from``, ``to`` (stop
    ids), ``length (m)``, ``moves``, ``observed (km/h)``, ``scheduled
    (km/h)``, ``observed ÷ scheduled``.
    """
    seg = obs.segments.dropna(subset=["scheduled_kmh"])
    names = {"shape_key": "route|direction", "from_stop_id": "from", "to_stop_id": "to", "length_m": "length (m)",
             "moves": "moves", "observed_kmh": "observed (km/h)", "scheduled_kmh": "scheduled (km/h)",
             "ratio": "observed ÷ scheduled"}
    obs_slow = O.slowest_segments(seg, n=n)[list(names)].rename(columns=names)
    sch_slow = seg[(seg["length_m"] >= 150) & (seg["moves"] >= 3)].nsmallest(n, "scheduled_kmh")[list(names)].rename(columns=names)
    return obs_slow, sch_slow


def fleet_table(obs: ObservedDay) -> pd.DataFrame:
    """The fleet table with readable column names."""
    return obs.fleet.drop(columns="snapshot_ts").rename(columns={
        "time": "snapshot", "seen": "vehicles seen", "fresh": "with a fresh fix",
        "on_network": "fresh, on the network", "scheduled": "trips scheduled",
        "seen_per_scheduled": "seen ÷ scheduled", "moving": "moving (%)", "at_stop": "at a stop (%)",
        "stopped_elsewhere": "stopped elsewhere (%)"})


def bunching_table(obs: ObservedDay) -> pd.DataFrame:
    """Bunched pairs with local snapshot times."""
    t = obs.fleet.drop_duplicates("snapshot_ts").set_index("snapshot_ts")["time"]
    b = obs.bunching
    return pd.DataFrame({"snapshot": b["snapshot_ts"].map(t), "service": b["service"],
                         "direction": b["direction_id"], "bus": b["vehicle_a"], "other bus": b["vehicle_b"],
                         "apart (m)": b["distance_m"].round(0)})


def punctuality_sentence(obs: ObservedDay) -> str:
    """Punctuality and headway regularity, or why they cannot be computed."""
    if obs.events.empty:
        return ("The positions carry no trip id of the GTFS and there are no TripUpdates, so punctuality and "
                "headway regularity cannot be computed. A feed whose VehiclePositions name the GTFS trip (trip_id) "
                "and the stop they are stopped at, or a TripUpdates feed, unlocks them.")
    p = obs.punctuality.set_index("class")
    h = obs.headways
    reg = (f" Headways at {len(h):,} stops have a median coefficient of variation of {h['cv'].median():.2f} "
           "(0 is perfectly regular)." if len(h) else "")
    return (f"{int(p['arrivals'].sum()):,} observed arrivals: {p.loc['on time', 'share']:.0f}% on time "
            f"({P.EARLY_S / 60:.0f} min early to {P.LATE_S / 60:.0f} min late), {p.loc['late', 'share']:.0f}% late, "
            f"{p.loc['early', 'share']:.0f}% early; median delay {p['median_delay_s'].iloc[0] / 60:.1f} min.{reg}")
