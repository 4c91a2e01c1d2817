"""Operations as observed (chapter 08): vehicle positions against the schedule.

Every function takes tables: vehicle positions as read by
:mod:`citybridge.realtime` (one row per vehicle and snapshot, POSIX times)
and the prepared service day (:class:`citybridge.feed.FeedDay`).

Positions are matched to the network **by geometry only**: each position
goes to the nearest route-direction line within ``max_distance_m``
(:data:`MATCH_DISTANCE_M`). Route lines come from ``shapes.txt`` when the
feed has it (the shape of each route-direction's most frequent pattern),
otherwise from that pattern's stops joined by straight lines. The route
ids carried by the positions are never used to match: they may be an
operator's internal codes (``realtime.route_ids: operator`` in city.yml).

Observed speed: for two consecutive fresh fixes of one vehicle, the
route-direction line near both fixes along which the vehicle progressed
is chosen (smallest summed distance); the distance travelled is the
difference of the two positions' measures along that line, the time the
difference of the fixes' timestamps.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .i18n import N_
from .feed import FeedDay

#: a position farther than this from every route-direction line is unmatched (m)
MATCH_DISTANCE_M = 50.0
#: two moving buses of one service and direction closer than this are bunched (m)
BUNCH_DISTANCE_M = 200.0
#: a fix older than this at capture is stale (s)
STALE_AFTER_S = 180.0
#: faster than this between two snapshots is implausible and left out (km/h)
MAX_SPEED_KMH = 90.0
#: a move shorter than this between two fixes is GPS noise of a bus standing still (m)
MIN_PROGRESS_M = 30.0


def _xy(lon, lat, crs: str) -> tuple[np.ndarray, np.ndarray]:
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return tr.transform(np.asarray(lon, float), np.asarray(lat, float))


def classify_status(pos: pd.DataFrame) -> pd.Series:
    """``at stop`` (status STOPPED_AT), ``moving`` (GPS speed above 0) or
    ``stopped elsewhere``, one value per position row."""
    at = pos["status"].eq("STOPPED_AT")
    moving = ~at & (pos["speed_kmh"].fillna(0) > 0)
    return pd.Series(np.select([at, moving], ["at stop", "moving"], "stopped elsewhere"), index=pos.index)


# --------------------------------------------------------------------------
# Route-direction lines
# --------------------------------------------------------------------------

def _template_stops(day: FeedDay, templates: set) -> pd.DataFrame:
    """Stops of template trips in order (``template_id``, ``stop_id``, ``stop_sequence``): the stops
    of each template's first concrete trip of the day (one row per template stop, from the codes)."""
    t = day.trips
    first = t[t["template_id"].isin(templates)].drop_duplicates("template_id")
    starts = day.trip_starts()
    ends = np.r_[starts[1:], len(day.trip)]
    code = first.index.to_numpy()
    n = ends[code] - starts[code]
    rows = np.repeat(starts[code] - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
    st = pd.DataFrame({"template_id": np.repeat(first["template_id"].to_numpy(dtype=object), n),
                       "stop_id": day.stop_ids[day.stop[rows]], "stop_sequence": day.seq[rows]})
    return st.drop_duplicates(["template_id", "stop_sequence"]).sort_values(
        ["template_id", "stop_sequence"], kind="stable").reset_index(drop=True)


def main_patterns(day: FeedDay) -> pd.DataFrame:
    """The most frequent stop pattern of each route and direction on the day.

    Same choice as :func:`citybridge.network.route_patterns` (most concrete
    trips, then most stops), computed from the template trips so that a
    frequency-based metropolitan feed is not expanded stop by stop.

    Returns
    -------
    DataFrame
        ``route_id``, ``direction_id``, ``template_id`` (a trip running the
        pattern), ``trips`` (concrete trips on the day running it), ``n_stops``.
    """
    per = day.trips.groupby("template_id").agg(route_id=("route_id", "first"), direction_id=("direction_id", "first"),
                                               trips=("trip_id", "size"))
    st = _template_stops(day, set(per.index))
    sig = st.groupby("template_id", sort=False)["stop_id"].agg(["size", "|".join])
    per = per.join(sig.rename(columns={"size": "n_stops", "join": "pattern"}), how="inner").reset_index()
    counts = (per.groupby(["route_id", "direction_id", "pattern"], sort=False)
                 .agg(trips=("trips", "sum"), template_id=("template_id", "first"), n_stops=("n_stops", "first"))
                 .reset_index()
                 .sort_values(["route_id", "direction_id", "trips", "n_stops"], ascending=[True, True, False, False],
                              kind="stable"))
    best = counts.drop_duplicates(["route_id", "direction_id"])
    return best[["route_id", "direction_id", "template_id", "trips", "n_stops"]].reset_index(drop=True)


def _pieces(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every line cut into its two-point pieces, and the line each piece belongs to.

    A spatial index over small pieces has small boxes: a query near one
    street meets only the lines that pass there, not every long route
    whose box covers half the city.
    """
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    same = idx[1:] == idx[:-1]
    a = np.flatnonzero(same)
    segs = shapely.linestrings(np.stack([xy[a], xy[a + 1]], axis=1))
    return segs, idx[a]


def route_shapes(day: FeedDay, *, modes: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One line per route and direction, in the day's metric CRS, with its stops' measures.

    The line of a route-direction is the shape (``shapes.txt``) of its most
    frequent stop pattern when the feed has one with two points or more,
    otherwise that pattern's stops joined by straight lines.

    Returns
    -------
    lines : DataFrame
        ``shape_key`` (``route_id|direction_id``), ``route_id``,
        ``direction_id``, ``mode``, ``template_id``, ``source``
        (``shapes.txt`` or ``stops``), ``length_m`` (m), ``geometry``
        (shapely LineString in ``day.crs``).
    stops : DataFrame
        The pattern's stops in order: ``shape_key``, ``stop_id``, ``k``
        (0-based order), ``measure_m`` (distance along the line, m,
        never decreasing), ``stop_lat``, ``stop_lon``.
    """
    pats = main_patterns(day).merge(day.routes[["route_id", "mode"]], on="route_id", how="left")
    if modes:
        pats = pats[pats["mode"].isin(modes)]
    pats = pats.assign(shape_key=pats["route_id"] + "|" + pats["direction_id"].astype(str))
    st = _template_stops(day, set(pats["template_id"]))[["template_id", "stop_id"]].merge(
        pats[["template_id", "shape_key"]], on="template_id")
    xy = day.stops_xy()
    st = st.join(xy[["stop_lat", "stop_lon", "x", "y"]], on="stop_id").dropna(subset=["x"])
    st = st[st.groupby("shape_key")["stop_id"].transform("size") >= 2]
    order = pd.unique(st["shape_key"])
    idx = pd.factorize(st["shape_key"])[0]
    geom = pd.Series(shapely.linestrings(st[["x", "y"]].to_numpy(), indices=idx), index=order)
    source = pd.Series("stops", index=order)
    shapes = getattr(day.feed, "shapes", None)
    trips = day.feed.trips
    if shapes is not None and len(shapes) and "shape_id" in trips:
        sid = trips.assign(trip_id=trips["trip_id"].astype(str)).set_index("trip_id")["shape_id"]
        pk = pats.assign(shape_id=pats["template_id"].map(sid).astype("string"))
        pk = pk[pk["shape_id"].notna() & pk["shape_key"].isin(order)]
        sh = shapes.assign(shape_id=shapes["shape_id"].astype("string"))
        sh = sh[sh["shape_id"].isin(set(pk["shape_id"]))].sort_values(["shape_id", "shape_pt_sequence"])
        sh = sh[sh.groupby("shape_id")["shape_id"].transform("size") >= 2]
        if len(sh):
            sx, sy = _xy(sh["shape_pt_lon"], sh["shape_pt_lat"], day.crs)
            sorder = pd.unique(sh["shape_id"])
            sgeom = pd.Series(shapely.linestrings(np.column_stack([sx, sy]),
                                                  indices=pd.factorize(sh["shape_id"])[0]), index=sorder)
            pk = pk[pk["shape_id"].isin(set(sorder))]
            geom.loc[pk["shape_key"].to_numpy()] = sgeom.loc[pk["shape_id"].to_numpy()].to_numpy()
            source.loc[pk["shape_key"].to_numpy()] = "shapes.txt"
    lines = (pats.set_index("shape_key").loc[order, ["route_id", "direction_id", "mode", "template_id"]]
             .reset_index())
    lines["source"] = source.loc[order].to_numpy()
    lines["geometry"] = geom.loc[order].to_numpy()
    lines["length_m"] = shapely.length(lines["geometry"].to_numpy())
    # measures of the pattern's stops along the line, never decreasing
    g = geom.loc[st["shape_key"]].to_numpy()
    m = shapely.line_locate_point(g, shapely.points(st["x"].to_numpy(), st["y"].to_numpy()))
    st = st.assign(measure_m=m)
    st["measure_m"] = st.groupby("shape_key", sort=False)["measure_m"].cummax()
    st["k"] = st.groupby("shape_key", sort=False).cumcount()
    stops = st[["shape_key", "stop_id", "k", "measure_m", "stop_lat", "stop_lon"]].reset_index(drop=True)
    cols = ["shape_key", "route_id", "direction_id", "mode", "template_id", "source", "length_m", "geometry"]
    return lines[cols], stops


# --------------------------------------------------------------------------
# Matching and observed moves
# --------------------------------------------------------------------------

def match_positions(pos: pd.DataFrame, lines: pd.DataFrame, *, crs: str,
                    max_distance_m: float = MATCH_DISTANCE_M) -> pd.DataFrame:
    """Match each position to the nearest route-direction line within ``max_distance_m``.

    Returns
    -------
    DataFrame
        ``pos`` plus ``x``, ``y`` (m, in ``crs``), ``matched`` (bool),
        ``shape_key``, ``matched_route_id`` (GTFS route id of the line, ""
        when unmatched), ``distance_m`` (to the nearest line, m; NaN when
        none is within ``max_distance_m``), ``measure_m`` (along that line, m).
    """
    x, y = _xy(pos["lon"], pos["lat"], crs)
    out = pos.assign(x=x, y=y, matched=False, shape_key="", matched_route_id="", distance_m=np.nan,
                     measure_m=np.nan)
    if len(lines) == 0 or len(pos) == 0:
        return out
    pts = shapely.points(x, y)
    geoms = lines["geometry"].to_numpy()
    segs, owner = _pieces(geoms)
    (i, k), d = shapely.STRtree(segs).query_nearest(pts, max_distance=max_distance_m, return_distance=True,
                                                    all_matches=False)
    j = owner[k]
    col = out.columns
    out.iloc[i, col.get_loc("matched")] = True
    out.iloc[i, col.get_loc("shape_key")] = lines["shape_key"].to_numpy()[j]
    out.iloc[i, col.get_loc("matched_route_id")] = lines["route_id"].to_numpy()[j]
    out.iloc[i, col.get_loc("distance_m")] = d
    out.iloc[i, col.get_loc("measure_m")] = shapely.line_locate_point(geoms[j], pts[i])
    return out


def observed_moves(pos: pd.DataFrame, lines: pd.DataFrame, *, crs: str,
                   max_distance_m: float = MATCH_DISTANCE_M, stale_after_s: float = STALE_AFTER_S,
                   min_interval_s: float = 60.0, max_speed_kmh: float = MAX_SPEED_KMH) -> pd.DataFrame:
    """Each vehicle's progress along the network between consecutive snapshots.

    Pairs of consecutive positions of a vehicle are kept when both fixes are
    fresh (at most ``stale_after_s`` old at capture) and at least
    ``min_interval_s`` apart. Of the route-direction lines within
    ``max_distance_m`` of both fixes, the one with the smallest summed
    distance on which the vehicle progressed (second measure ≥ first − 25 m)
    is used. Implausible moves (faster than ``max_speed_kmh``, or progress
    more than 1.5 × the straight line + 300 m) are left out.

    Returns
    -------
    DataFrame
        One row per kept pair: ``vehicle_id``, ``route_id`` (as carried by
        the feed), ``snapshot_ts`` (capture of the second fix, POSIX s),
        ``fix_ts_1``, ``fix_ts_2`` (POSIX s), ``interval_s`` (s),
        ``shape_key``, ``measure_1``, ``measure_2`` (m along the line),
        ``progress_m`` (m, ≥ 0), ``straight_m`` (m), ``speed_kmh`` (km/h).
    """
    cols = ["vehicle_id", "route_id", "snapshot_ts", "fix_ts_1", "fix_ts_2", "interval_s", "shape_key",
            "measure_1", "measure_2", "progress_m", "straight_m", "speed_kmh"]
    if len(pos) < 2 or len(lines) == 0:
        return pd.DataFrame(columns=cols)
    p = pos.sort_values(["vehicle_id", "snapshot_ts"], kind="stable").reset_index(drop=True)
    if "x" not in p:
        p["x"], p["y"] = _xy(p["lon"], p["lat"], crs)
    fresh = (p["snapshot_ts"] - p["fix_ts"]) <= stale_after_s
    same = p["vehicle_id"].eq(p["vehicle_id"].shift(-1)).to_numpy()
    a = np.flatnonzero(same[:-1] & fresh.to_numpy()[:-1] & fresh.to_numpy()[1:]) if len(p) > 1 else np.array([], int)
    b = a + 1
    dt_s = p["fix_ts"].to_numpy()[b] - p["fix_ts"].to_numpy()[a]
    keep = dt_s >= min_interval_s
    a, b, dt_s = a[keep], b[keep], dt_s[keep]
    if len(a) == 0:
        return pd.DataFrame(columns=cols)
    p1 = shapely.points(p["x"].to_numpy()[a], p["y"].to_numpy()[a])
    p2 = shapely.points(p["x"].to_numpy()[b], p["y"].to_numpy()[b])
    geoms = lines["geometry"].to_numpy()
    segs, owner = _pieces(geoms)
    pi, si = shapely.STRtree(segs).query(p1, predicate="dwithin", distance=max_distance_m)
    cand = np.unique(np.column_stack([pi, owner[si]]), axis=0) if len(pi) else np.zeros((0, 2), int)
    pi, li = cand[:, 0], cand[:, 1]
    d1 = shapely.distance(geoms[li], p1[pi])
    d2 = shapely.distance(geoms[li], p2[pi])
    ok = d2 <= max_distance_m
    pi, li, d1, d2 = pi[ok], li[ok], d1[ok], d2[ok]
    m1 = shapely.line_locate_point(geoms[li], p1[pi])
    m2 = shapely.line_locate_point(geoms[li], p2[pi])
    ok = (m2 - m1) >= -25.0
    cand = pd.DataFrame({"pair": pi[ok], "line": li[ok], "d": (d1 + d2)[ok], "m1": m1[ok], "m2": m2[ok]})
    best = cand.sort_values(["pair", "d"], kind="stable").drop_duplicates("pair")
    k = best["pair"].to_numpy()
    progress = np.clip(best["m2"].to_numpy() - best["m1"].to_numpy(), 0, None)
    straight = shapely.distance(p1[k], p2[k])
    out = pd.DataFrame({
        "vehicle_id": p["vehicle_id"].to_numpy()[b[k]], "route_id": p["route_id"].to_numpy()[b[k]],
        "snapshot_ts": p["snapshot_ts"].to_numpy()[b[k]],
        "fix_ts_1": p["fix_ts"].to_numpy()[a[k]], "fix_ts_2": p["fix_ts"].to_numpy()[b[k]],
        "interval_s": dt_s[k].astype(float), "shape_key": lines["shape_key"].to_numpy()[best["line"].to_numpy()],
        "measure_1": best["m1"].to_numpy(), "measure_2": best["m1"].to_numpy() + progress,
        "progress_m": progress, "straight_m": straight})
    out["speed_kmh"] = out["progress_m"] / out["interval_s"] * 3.6
    plausible = (out["speed_kmh"] <= max_speed_kmh) & (out["progress_m"] <= 1.5 * out["straight_m"] + 300)
    return out[plausible].reset_index(drop=True)[cols]


# --------------------------------------------------------------------------
# Segments: observed against scheduled
# --------------------------------------------------------------------------

def scheduled_links(day: FeedDay, *, hours: list[int]) -> pd.DataFrame:
    """Scheduled stop-to-stop runs departing in the given hours (local, 0..27).

    Returns
    -------
    DataFrame
        ``from_stop_id``, ``to_stop_id``, ``trips`` (runs departing in the
        hours), ``run_s`` (their total scheduled running time, s); runs with
        a zero or negative running time are left out.
    """
    lo, hi = min(hours) * 3600, (max(hours) + 1) * 3600
    on = (day.trips["start_s"] < hi).to_numpy() & (day.trips["end_s"] >= lo).to_numpy()   # by trip code
    st = day.stop_time_rows(on[day.trip]).sort_values(["trip_id", "stop_sequence"])
    same = st["trip_id"].eq(st["trip_id"].shift(-1)).to_numpy()
    dep = st["departure_s"].to_numpy()
    arr_next = st["arrival_s"].shift(-1).to_numpy()
    run = arr_next - dep
    ok = same & (run > 0) & (dep >= lo) & (dep < hi)
    links = pd.DataFrame({"from_stop_id": st["stop_id"].to_numpy()[ok],
                          "to_stop_id": st["stop_id"].shift(-1).to_numpy()[ok], "run_s": run[ok]})
    return (links.groupby(["from_stop_id", "to_stop_id"], sort=False)
                 .agg(trips=("run_s", "size"), run_s=("run_s", "sum")).reset_index())


def segment_comparison(moves: pd.DataFrame, stops: pd.DataFrame, sched: pd.DataFrame, *,
                       min_moves: int = 2, min_progress_m: float = MIN_PROGRESS_M) -> pd.DataFrame:
    """Observed speed on each stop-to-stop segment of the matched lines, against the schedule.

    Each move (:func:`observed_moves`) with progress is spread over the
    segments of its line between its two measures: a segment receives the
    overlapping length and the time the move took over it at the move's
    speed. Moves shorter than ``min_progress_m`` are left out: GPS noise of a
    bus standing still (at a terminal, out of service) is not a congested
    street. The scheduled speed of a segment is
    its length along the line × the runs over it ÷ their total scheduled
    running time in the same hours (:func:`scheduled_links`), so both speeds
    use the same distance.

    Returns
    -------
    DataFrame
        One row per segment with at least ``min_moves`` moves:
        ``shape_key``, ``from_stop_id``, ``to_stop_id``, ``length_m`` (m),
        ``moves`` (count), ``observed_m`` (length covered, m),
        ``observed_s`` (time, s), ``observed_kmh`` (km/h),
        ``scheduled_trips`` (runs in the hours; 0 when the segment has none),
        ``scheduled_kmh`` (km/h, NaN without runs), ``ratio`` (observed ÷
        scheduled), ``from_lat``, ``from_lon``, ``to_lat``, ``to_lon`` (degrees).
    """
    cols = ["shape_key", "from_stop_id", "to_stop_id", "length_m", "moves", "observed_m", "observed_s",
            "observed_kmh", "scheduled_trips", "scheduled_kmh", "ratio", "from_lat", "from_lon", "to_lat", "to_lon"]
    mv = moves[moves["progress_m"] >= min_progress_m]
    if mv.empty or stops.empty:
        return pd.DataFrame(columns=cols)
    s = stops.sort_values(["shape_key", "k"], kind="stable")
    nxt = s.shift(-1)
    segok = s["shape_key"].eq(nxt["shape_key"]) & (nxt["measure_m"] > s["measure_m"])
    seg = pd.DataFrame({"shape_key": s["shape_key"], "from_stop_id": s["stop_id"], "to_stop_id": nxt["stop_id"],
                        "start": s["measure_m"], "end": nxt["measure_m"], "from_lat": s["stop_lat"],
                        "from_lon": s["stop_lon"], "to_lat": nxt["stop_lat"], "to_lon": nxt["stop_lon"]})[segok]
    codes = {k: i for i, k in enumerate(pd.unique(seg["shape_key"]))}
    big = 1e8
    seg = seg.assign(code=seg["shape_key"].map(codes)).sort_values(["code", "start"], kind="stable")
    gs = seg["code"].to_numpy() * big + seg["start"].to_numpy()
    ge = seg["code"].to_numpy() * big + seg["end"].to_numpy()
    mv = mv[mv["shape_key"].isin(codes)]
    mc = mv["shape_key"].map(codes).to_numpy() * big
    g1, g2 = mc + mv["measure_1"].to_numpy(), mc + mv["measure_2"].to_numpy()
    lo = np.searchsorted(ge, g1, side="right")
    hi = np.searchsorted(gs, g2, side="left")
    n = np.clip(hi - lo, 0, None)
    rep = np.repeat(np.arange(len(mv)), n)
    segi = np.repeat(lo, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    overlap = np.minimum(ge[segi], g2[rep]) - np.maximum(gs[segi], g1[rep])
    speed_ms = mv["progress_m"].to_numpy()[rep] / mv["interval_s"].to_numpy()[rep]
    part = pd.DataFrame({"seg": segi, "m": overlap, "s": overlap / speed_ms})
    part = part[part["m"] > 0]
    agg = part.groupby("seg").agg(moves=("m", "size"), observed_m=("m", "sum"), observed_s=("s", "sum"))
    out = seg.reset_index(drop=True).iloc[agg.index].assign(**{c: agg[c].to_numpy() for c in agg.columns})
    out["length_m"] = out["end"] - out["start"]
    out["observed_kmh"] = out["observed_m"] / out["observed_s"] * 3.6
    out = out.merge(sched, on=["from_stop_id", "to_stop_id"], how="left")
    out["scheduled_trips"] = out["trips"].fillna(0).astype(int)
    out["scheduled_kmh"] = out["length_m"] * out["trips"] / out["run_s"] * 3.6
    out["ratio"] = out["observed_kmh"] / out["scheduled_kmh"]
    out = out[out["moves"] >= min_moves]
    return out[cols].sort_values("observed_kmh", kind="stable").reset_index(drop=True)


def slowest_segments(cmp: pd.DataFrame, *, n: int = 15, min_length_m: float = 150.0,
                     min_moves: int = 3) -> pd.DataFrame:
    """The ``n`` segments with the lowest observed speed, at least ``min_length_m``
    long and crossed by at least ``min_moves`` moves.

    Returns the rows of :func:`segment_comparison`, slowest first.
    """
    ok = (cmp["length_m"] >= min_length_m) & (cmp["moves"] >= min_moves)
    return cmp[ok].nsmallest(n, "observed_kmh").reset_index(drop=True)


# --------------------------------------------------------------------------
# Fleet, bunching, data quality
# --------------------------------------------------------------------------

def position_modes(pos: pd.DataFrame, day: FeedDay, *, route_ids: str = "gtfs", default: str = "bus") -> pd.Series:
    """The mode of each position: its route's mode when the feed carries GTFS
    route ids known to the day, else ``default`` (the city's ``realtime.mode``)."""
    if route_ids != "gtfs":
        return pd.Series(default, index=pos.index)
    modes = day.routes.set_index("route_id")["mode"]
    return pos["route_id"].map(modes).fillna(default)


def fleet_vs_schedule(pos: pd.DataFrame, day: FeedDay, *, timezone: str, modes: pd.Series,
                      stale_after_s: float = STALE_AFTER_S, capture_date: str | None = None) -> pd.DataFrame:
    """Vehicles seen at each snapshot against the trips the schedule has running then.

    The snapshot's local time of day (after midnight of ``capture_date``,
    YYYYMMDD, default ``day.date``) is looked up in ``day``'s schedule, so a
    capture can be compared with the same weekday of another feed period.

    Returns
    -------
    DataFrame
        One row per snapshot and mode: ``snapshot_ts`` (POSIX s),
        ``time`` (local HH:MM), ``mode``, ``seen`` (distinct vehicles),
        ``fresh`` (with a fix at most ``stale_after_s`` old),
        ``on_network`` (fresh and matched to a route line: ``pos`` from
        :func:`match_positions`; equal to ``fresh`` without a ``matched`` column),
        ``scheduled`` (trips in progress at that instant on ``day``),
        ``seen_per_scheduled`` (seen ÷ scheduled), ``moving``,
        ``at_stop``, ``stopped_elsewhere`` (% of the vehicles seen, see
        :func:`classify_status`).
    """
    from .realtime import local_seconds

    p = pos.assign(mode=modes.to_numpy(), state=classify_status(pos).to_numpy(),
                   fresh=(pos["snapshot_ts"] - pos["fix_ts"]) <= stale_after_s)
    p = p.assign(on_network=p["fresh"] & (p["matched"] if "matched" in p else True))
    p = p.drop_duplicates(["snapshot_ts", "vehicle_id"])
    g = p.groupby(["snapshot_ts", "mode"])
    out = g.agg(seen=("vehicle_id", "size"), fresh=("fresh", "sum"), on_network=("on_network", "sum")).reset_index()
    for state, col in (("moving", "moving"), ("at stop", "at_stop"), ("stopped elsewhere", "stopped_elsewhere")):
        out[col] = g["state"].apply(lambda s, st=state: 100 * (s == st).mean()).to_numpy()
    t = local_seconds(out["snapshot_ts"], timezone=timezone, date=capture_date or day.date)
    trips = day.trips
    sched = []
    for ti, mode in zip(t, out["mode"]):
        m = trips["mode"].to_numpy() == mode
        sched.append(int(((trips["start_s"].to_numpy()[m] <= ti) & (trips["end_s"].to_numpy()[m] > ti)).sum()))
    out["scheduled"] = sched
    out["seen_per_scheduled"] = out["seen"] / out["scheduled"].replace(0, np.nan)
    tod = np.mod(t, 86400)
    out["time"] = [f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}" for s in tod]
    return out[["snapshot_ts", "time", "mode", "seen", "fresh", "on_network", "scheduled", "seen_per_scheduled", "moving",
                "at_stop", "stopped_elsewhere"]]


def bunching(pos: pd.DataFrame, *, crs: str, distance_m: float = BUNCH_DISTANCE_M,
             stale_after_s: float = STALE_AFTER_S) -> pd.DataFrame:
    """Pairs of moving buses of the same service and direction closer than ``distance_m``.

    The service is the ``route_id`` the feed carries (a GTFS route id, or
    the operator's own service code); positions without one, stale fixes
    and vehicles not moving (:func:`classify_status`) are left out. Pairs
    are found per snapshot with a spatial index.

    Returns
    -------
    DataFrame
        ``snapshot_ts`` (POSIX s), ``service``, ``direction_id``,
        ``vehicle_a``, ``vehicle_b``, ``distance_m`` (straight line, m),
        ``lat``, ``lon`` (midpoint, degrees).
    """
    cols = ["snapshot_ts", "service", "direction_id", "vehicle_a", "vehicle_b", "distance_m", "lat", "lon"]
    ok = (classify_status(pos) == "moving") & pos["route_id"].astype(str).str.strip().ne("") & \
         ((pos["snapshot_ts"] - pos["fix_ts"]) <= stale_after_s)
    p = pos[ok].drop_duplicates(["snapshot_ts", "vehicle_id"]).reset_index(drop=True)
    if p.empty:
        return pd.DataFrame(columns=cols)
    x, y = _xy(p["lon"], p["lat"], crs)
    frames = []
    key = (p["route_id"].astype(str) + "|" + p["direction_id"].astype(str)).to_numpy()
    for ts, idx in p.groupby("snapshot_ts").indices.items():
        pts = shapely.points(x[idx], y[idx])
        i, j = shapely.STRtree(pts).query(pts, predicate="dwithin", distance=distance_m)
        keep = (i < j) & (key[idx][i] == key[idx][j])
        i, j = idx[i[keep]], idx[j[keep]]
        frames.append(pd.DataFrame({
            "snapshot_ts": ts, "service": p["route_id"].to_numpy()[i], "direction_id": p["direction_id"].to_numpy()[i],
            "vehicle_a": p["vehicle_id"].to_numpy()[i], "vehicle_b": p["vehicle_id"].to_numpy()[j],
            "distance_m": np.hypot(x[i] - x[j], y[i] - y[j]),
            "lat": (p["lat"].to_numpy()[i] + p["lat"].to_numpy()[j]) / 2,
            "lon": (p["lon"].to_numpy()[i] + p["lon"].to_numpy()[j]) / 2}))
    return pd.concat(frames, ignore_index=True)[cols].sort_values(["snapshot_ts", "distance_m"]).reset_index(drop=True)


#: Definitions of the data-quality indicators (``{minutes}``: stale threshold, min; ``{distance}``: m).
QUALITY_DEFINITIONS = {
    N_("positions"): N_("vehicle positions in all snapshots"), N_("vehicles"): N_("distinct vehicle ids"),
    N_("stale fixes"): N_("GPS fix older than {minutes:.0f} min when the snapshot was taken"),
    N_("far from every route"): N_("more than {distance:.0f} m from every route-direction line of the feed"),
    N_("without service"): N_("neither a route/service code nor a trip id"),
    N_("duplicate fixes"): N_("a vehicle appearing twice in one snapshot"),
}


def data_quality(matched: pd.DataFrame, *, stale_after_s: float = STALE_AFTER_S,
                 max_distance_m: float = MATCH_DISTANCE_M) -> pd.DataFrame:
    """Quality of the positions (``matched`` from :func:`match_positions`).

    Returns
    -------
    DataFrame
        ``indicator``, ``value``, ``unit``, ``definition`` (English catalog messages, see
        :data:`QUALITY_DEFINITIONS`): positions, vehicles, stale fixes (%), positions far
        from every route (%), positions without service (%), duplicate fixes (count).
    """
    n = len(matched)
    age = matched["snapshot_ts"] - matched["fix_ts"]
    no_service = matched["route_id"].astype(str).str.strip().eq("") & matched["trip_id"].astype(str).str.strip().eq("")
    dup = int(matched.duplicated(["snapshot_ts", "vehicle_id"]).sum())
    pct = (lambda s: 100 * float(s.mean())) if n else (lambda s: np.nan)
    share = N_("% of positions")
    rows = [("positions", n, N_("positions")), ("vehicles", matched["vehicle_id"].nunique(), N_("vehicles")),
            ("stale fixes", pct(age > stale_after_s), share), ("far from every route", pct(~matched["matched"]), share),
            ("without service", pct(no_service), share), ("duplicate fixes", dup, N_("positions"))]
    fmt = {"minutes": stale_after_s / 60, "distance": max_distance_m}
    return pd.DataFrame([(i, v, u, QUALITY_DEFINITIONS[i].format(**fmt)) for i, v, u in rows],
                        columns=["indicator", "value", "unit", "definition"])
