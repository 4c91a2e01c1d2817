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
from . import phrases as PH
from . import realtime as R
from .i18n import N_
from .texts import Text, tr

NO_REALTIME = N_("{name} declares no realtime inputs, so nothing here can be computed for it. Add GTFS-Realtime "
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
        The service day compared with (YYYYMMDD); ``date_note`` says why
        (a :class:`~citybridge.texts.Text`, shown in the language in force).
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
    date_note: Text
    captured: str
    capture_date: str
    settings: dict = field(default_factory=dict)


#: The days of the week, as the notes name them (translated when shown).
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))


def weekday(d: dt.date) -> Text:
    """The name of ``d``'s day of the week, translated when shown."""
    return Text(WEEKDAYS[d.weekday()])


def comparable_date(feed, capture_date: str) -> tuple[str, Text]:
    """The feed's service day to compare a capture of ``capture_date`` (YYYYMMDD) with.

    The capture date itself when the feed runs service on it; otherwise the
    feed's date of the same weekday, inside its calendar, with the most
    common number of trips for that weekday (so not a holiday), nearest to
    the capture. Returns ``(date, note)``; the note is a
    :class:`~citybridge.texts.Text` (shown in the language in force).
    """
    from .feed import feed_date_range, trips_by_date

    cap = dt.datetime.strptime(capture_date, "%Y%m%d").date()
    lo, hi = feed_date_range(feed)
    if lo <= cap <= hi and trips_by_date(feed, [cap]).iloc[0] > 0:
        return capture_date, Text("the capture's own date, {weekday} {date}, is in the feed's calendar",
                                  weekday=weekday(cap), date=cap.isoformat())
    days = [lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1)]
    same = [d for d in days if d.weekday() == cap.weekday()]
    counts = trips_by_date(feed, same) if same else pd.Series(dtype=float)
    counts = counts[counts > 0]
    if counts.empty:
        return "", Text("the feed runs no service on any {weekday}", weekday=weekday(cap))
    typical = counts.mode().iloc[0]
    cand = [d for d in same if counts.get(d.strftime("%Y%m%d"), 0) == typical]
    best = min(cand, key=lambda d: abs((d - cap).days))
    return (best.strftime("%Y%m%d"),
            Text("the capture ({weekday} {date}) is outside the feed's calendar ({first} to {last}); it is compared "
                 "with the scheduled {best_weekday} {best}, a typical {weekday} of the feed ({trips:,} trips)",
                 weekday=weekday(cap), date=cap.isoformat(), first=lo.isoformat(), last=hi.isoformat(),
                 best_weekday=weekday(best), best=best.isoformat(), trips=int(typical)))


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
    note = Text("date given by the reader")
    if not date:
        feed = read_feed(city.gtfs_path, datum=city.profile.source_datum)
        date, note = comparable_date(feed, capture_date)
        if not date:
            date = None
            note = Text("{note}; the chapters' default analysis day is used instead", note=note)
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
    dist, bunch = f"{s['match_distance_m']:.0f}", f"{s['bunch_distance_m']:.0f}"
    rows = [(N_("vehicles seen"), f["seen"].mean() if len(f) else np.nan, N_("vehicles"), PH.OBS_SEEN),
            (N_("vehicles on the network"), f["on_network"].mean() if len(f) else np.nan, N_("vehicles"),
             PH.OBS_ON_NETWORK.format(distance=dist)),
            (N_("scheduled trips in progress"), f["scheduled"].mean() if len(f) else np.nan, N_("trips"),
             PH.OBS_IN_PROGRESS.format(date=obs.date)),
            (N_("positions matched to a route"), 100 - q["far from every route"], N_("% of positions"),
             PH.OBS_MATCHED.format(distance=dist)),
            (N_("median observed speed"), seg["observed_kmh"].median() if len(seg) else np.nan, "km/h",
             PH.OBS_OBSERVED_SPEED),
            (N_("median scheduled speed"), seg["scheduled_kmh"].median() if len(seg) else np.nan, "km/h",
             PH.OBS_SCHEDULED_SPEED),
            (N_("bunched pairs"), len(obs.bunching) / per, N_("pairs per snapshot"), PH.OBS_BUNCHED.format(distance=bunch)),
            (N_("stale fixes"), q["stale fixes"], N_("% of positions"),
             PH.OBS_STALE.format(minutes=f"{s['stale_after_s'] / 60:.0f}"))]
    if len(obs.events):
        p = obs.punctuality.set_index("class")
        rows.append((N_("on-time arrivals"), p.loc["on time", "share"], N_("% of arrivals"),
                     PH.OBS_ON_TIME.format(early=f"{P.EARLY_S / 60:.0f}", late=f"{P.LATE_S / 60:.0f}")))
    out = pd.DataFrame(rows, columns=["indicator", "value", "unit", "definition"])
    out["definition"] = out["definition"] + "; " + PH.CAPTURED.format(when=obs.captured)
    return out


def _segment_lines(seg: pd.DataFrame) -> gpd.GeoDataFrame:
    coords = np.stack([seg[["from_lon", "from_lat"]].to_numpy(float), seg[["to_lon", "to_lat"]].to_numpy(float)], 1)
    return gpd.GeoDataFrame(seg.reset_index(drop=True), geometry=shapely.linestrings(coords), crs="EPSG:4326")


RATIO_CLASSES = {N_("under half the scheduled speed"): "#b2182b", N_("half to 80%"): "#ef8a62",
                 N_("80% to 120%"): "#9e9e9e", N_("faster than scheduled"): "#2166ac",
                 N_("no scheduled run"): "#d9d9d9"}
STATE_COLORS = {N_("moving"): "#1a9850", N_("at stop"): "#2166ac", N_("stopped elsewhere"): "#d73027"}


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
                   simplify_m=50.0, tooltip=["route_id", "direction_id"],
                   aliases=[Text("route"), Text("direction")], name=Text("route lines"))
    last = last.assign(speed=last["speed_kmh"].round(0), state_label=[Text(s) for s in last["state"]])
    maps.add_points(m, last, color_by="state", colors=STATE_COLORS, lat="lat", lon="lon", radius=2.5,
                    tooltip=["route_id", "state_label", "speed"], aliases=[Text("service"), Text("state"), "km/h"],
                    name=Text("vehicles"))
    if len(obs.bunching):
        maps.add_points(m, obs.bunching.assign(kind="bunched"), color_by="kind", colors={"bunched": "#6a3d9a"},
                        lat="lat", lon="lon", radius=5, tooltip=["service", "vehicle_a", "vehicle_b", "distance_m"],
                        aliases=[Text("service"), Text("bus"), Text("bus"), Text("apart (m)")],
                        name=Text("bunched pairs"))
    maps.add_legend(m, Text("Vehicles"), {**STATE_COLORS, N_("bunched pair"): "#6a3d9a"})
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
                   tooltip=["observed", "scheduled", "moves"],
                   aliases=[Text("observed km/h"), Text("scheduled km/h"), Text("moves")], name=Text("segments"))
    maps.add_legend(m, Text("Observed ÷ scheduled speed"), RATIO_CLASSES)
    return maps.finish(m)


def fleet_chart(obs: ObservedDay):
    """Bars: vehicles seen and trips scheduled at each snapshot, by mode.

    Trace names and axis titles are English catalog messages (translated
    when the chart is drawn); each mode is a legend group titled by its name.
    """
    import plotly.graph_objects as go

    from .charts import style

    f = obs.fleet
    fig = go.Figure()
    for mode in sorted(set(f["mode"])):
        d = f[f["mode"] == mode]
        group = {"legendgroup": mode, "legendgrouptitle": {"text": mode}}
        fig.add_trace(go.Bar(x=d["time"], y=d["seen"], name=N_("vehicles seen"), marker_color="#1a9850", **group))
        fig.add_trace(go.Bar(x=d["time"], y=d["on_network"], name=N_("fresh fix on the network"),
                             marker_color="#91cf60", **group))
        fig.add_trace(go.Bar(x=d["time"], y=d["scheduled"], name=N_("trips scheduled in progress"),
                             marker_color="#9e9e9e", **group))
    fig.update_layout(barmode="group")
    fig.update_xaxes(title=N_("snapshot (local time)"))
    fig.update_yaxes(title=N_("vehicles / trips"))
    return style(fig)


def no_realtime(city) -> str:
    """The plain statement shown where a city has no realtime data, in the language in force."""
    return tr(NO_REALTIME, name=city.name, slug=city.slug)
