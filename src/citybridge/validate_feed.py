"""Checks of a GTFS feed's tables for ``citybridge validate``: keys, routes, trips, times, stops, agency, files.

Each check returns :class:`~citybridge.findings.Finding` objects naming the
table (``.../gtfs.zip/stops.txt``), the column and the row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .findings import Finding, finding, first_row


#: A stop farther than this from the feed's centre, and far beyond the rest, is reported.
FAR_STOP_KM = 50.0


def _text(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna("").str.strip()


def _check_keys(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    stops, st, trips, routes = feed.stops, feed.stop_times, feed.trips, feed.routes
    for name, df, key in (("stops", stops, "stop_id"), ("routes", routes, "route_id"), ("trips", trips, "trip_id")):
        dup = df[key].duplicated()
        if dup.any():
            i = first_row(dup)
            out.append(finding("fatal", f"{src}/{name}.txt", f"{int(dup.sum())} duplicate {key} value(s), first "
                               f"'{df[key].iloc[i - 1]}'; every {key} must be unique: rename or remove the "
                               "repeated rows", key, i))
    unknown_stop = ~st["stop_id"].isin(set(stops["stop_id"]))
    if unknown_stop.any():
        i = first_row(unknown_stop)
        out.append(finding("warning", f"{src}/stop_times.txt", f"{int(unknown_stop.sum()):,} stop time(s) name a stop "
                           f"not in stops.txt (first '{st['stop_id'].iloc[i - 1]}'); they are left out of maps and "
                           "distances. Add the stops or correct the ids", "stop_id", i))
    if "location_type" in stops:
        lt = pd.to_numeric(stops["location_type"], errors="coerce").fillna(0)
        stations = set(stops.loc[lt == 1, "stop_id"])
        at_station = st["stop_id"].isin(stations)
        if at_station.any():
            i = first_row(at_station)
            out.append(finding("warning", f"{src}/stop_times.txt", f"{int(at_station.sum()):,} stop time(s) name a "
                               "parent station (location_type 1) instead of a stop or platform (first "
                               f"'{st['stop_id'].iloc[i - 1]}'); GTFS requires a stop; name the platform",
                               "stop_id", i))
    unknown_route = ~trips["route_id"].isin(set(routes["route_id"]))
    if unknown_route.any():
        i = first_row(unknown_route)
        out.append(finding("warning", f"{src}/trips.txt", f"{int(unknown_route.sum()):,} trip(s) name a route not in "
                           f"routes.txt (first '{trips['route_id'].iloc[i - 1]}'); their mode is unknown ('other'). "
                           "Add the route or correct the id", "route_id", i))
    no_st = ~trips["trip_id"].isin(set(st["trip_id"]))
    if no_st.any():
        i = first_row(no_st)
        out.append(finding("warning", f"{src}/trips.txt", f"{int(no_st.sum()):,} trip(s) have no stop times (first "
                           f"'{trips['trip_id'].iloc[i - 1]}'); they are ignored", "trip_id", i))
    no_trip = ~routes["route_id"].isin(set(trips["route_id"]))
    if no_trip.any():
        out.append(finding("info", f"{src}/routes.txt", f"{int(no_trip.sum()):,} route(s) have no trips and are left "
                           "out of every chapter", "route_id", first_row(no_trip)))
    return out


def _check_routes(feed, src: str) -> list[Finding]:
    from .feed import mode_of

    out: list[Finding] = []
    modes = mode_of(feed.routes["route_type"])
    other = (modes == "other").to_numpy()
    if other.any():
        i = first_row(other)
        out.append(finding("warning", f"{src}/routes.txt", f"{int(other.sum())} route(s) have a route_type the "
                           f"workbook does not map to a mode (first {feed.routes['route_type'].iloc[i - 1]}); they "
                           "count as 'other'. Use a basic GTFS type (0-7, 11, 12) or an extended one (100-1700)",
                           "route_type", i))
    counts = modes.value_counts()
    out.append(finding("info", f"{src}/routes.txt", "modes: " + ", ".join(f"{m} {n}" for m, n in counts.items())
                       + " route(s)"))
    return out


def _check_trips(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    trips = feed.trips
    if "direction_id" not in trips.columns:
        out.append(finding("warning", f"{src}/trips.txt", "no direction_id column: the two directions of a route "
                           "cannot be told apart, so headways are computed as if all trips ran one way (both "
                           "directions together: headways look about twice as frequent). Add direction_id (0 or 1) "
                           "if you can", "direction_id"))
    else:
        d = pd.to_numeric(trips["direction_id"], errors="coerce")
        blank = d.isna().to_numpy()
        if blank.any():
            out.append(finding("warning", f"{src}/trips.txt", f"{int(blank.sum()):,} trip(s) have a blank "
                               "direction_id; they are treated as direction 0", "direction_id", first_row(blank)))
        odd = (d.notna() & ~d.isin([0, 1])).to_numpy()
        if odd.any():
            i = first_row(odd)
            out.append(finding("warning", f"{src}/trips.txt", f"{int(odd.sum()):,} trip(s) have a direction_id other "
                               f"than 0 or 1 (first {d.iloc[i - 1]}); write 0 or 1", "direction_id", i))
    return out


def _check_times(feed, src: str) -> list[Finding]:
    from .periods import times_to_seconds

    out: list[Finding] = []
    st = feed.stop_times
    f = f"{src}/stop_times.txt"
    cols = [c for c in ("arrival_time", "departure_time") if c in st.columns]
    secs = {}
    for c in cols:
        raw = _text(st[c])
        s = times_to_seconds(raw)
        bad = ((raw != "") & s.isna()).to_numpy()
        if bad.any():
            i = first_row(bad)
            out.append(finding("warning", f, f"{int(bad.sum()):,} value(s) are not times written H:MM:SS (first "
                               f"'{raw.iloc[i - 1]}'); they are treated as blank. Write e.g. 07:05:00, or 25:10:00 "
                               "for 1:10 after midnight of the service day", c, i))
        big = (s > 48 * 3600).to_numpy()
        if big.any():
            i = first_row(big)
            out.append(finding("warning", f, f"{int(big.sum()):,} time(s) are more than 48 hours after midnight (first "
                               f"'{raw.iloc[i - 1]}'); check the hours", c, i))
        secs[c] = s
    if not secs:
        return out
    dep = secs.get("departure_time", pd.Series(np.nan, index=st.index))
    arr = secs.get("arrival_time", pd.Series(np.nan, index=st.index))
    t = dep.fillna(arr)
    seq = pd.to_numeric(st["stop_sequence"], errors="coerce")
    order = pd.DataFrame({"trip": st["trip_id"].astype(str).to_numpy(), "seq": seq.to_numpy(),
                          "t": t.to_numpy(), "a": arr.fillna(dep).to_numpy(), "row": np.arange(1, len(st) + 1)})
    order = order.sort_values(["trip", "seq"], kind="stable")
    g = order.groupby("trip", sort=False)
    first = g.cumcount() == 0
    last = g.cumcount(ascending=False) == 0
    blank = order["t"].isna()
    ends = blank & (first | last)
    mid = blank & ~(first | last)
    if mid.any():
        out.append(finding("info", f, f"{int(mid.sum()):,} blank intermediate stop time(s) (stops without a published "
                           "time) are interpolated linearly between the timed stops of their trip", "departure_time",
                           int(order.loc[mid, "row"].min())))
    if ends.any():
        n_trips = order.loc[ends, "trip"].nunique()
        out.append(finding("warning", f, f"{n_trips:,} trip(s) have no time at their first or last stop "
                           f"({int(ends.sum()):,} stop time(s)); those untimed ends are dropped, so the trips look "
                           "shorter. GTFS requires times at both ends: add them", "departure_time",
                           int(order.loc[ends, "row"].min())))
    timed = order.dropna(subset=["t"])
    prev = timed.groupby("trip", sort=False)["t"].shift()
    back = (timed["a"] < prev).to_numpy()
    if back.any():
        i = int(timed["row"].to_numpy()[np.flatnonzero(back)[0]])
        out.append(finding("warning", f, f"{int(back.sum()):,} stop time(s) are earlier than the previous stop of "
                           f"their trip (first trip '{timed['trip'].to_numpy()[np.flatnonzero(back)[0]]}'); check the "
                           "times and stop_sequence; speeds on those segments are wrong", "arrival_time", i))
    return out


def _haversine_km(lat1, lon1, lat2, lon2):
    p = np.pi / 180
    a = (np.sin((lat2 - lat1) * p / 2) ** 2 +
         np.cos(lat1 * p) * np.cos(lat2 * p) * np.sin((lon2 - lon1) * p / 2) ** 2)
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _check_stops(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    stops = feed.stops
    f = f"{src}/stops.txt"
    ok = stops["stop_lat"].notna() & stops["stop_lon"].notna()
    lat, lon = stops["stop_lat"].astype(float), stops["stop_lon"].astype(float)
    if ok.sum() >= 3:
        mlat, mlon = lat[ok].median(), lon[ok].median()
        d = pd.Series(_haversine_km(mlat, mlon, lat.to_numpy(), lon.to_numpy()), index=stops.index)
        typical = float(d[ok].median())
        limit = max(FAR_STOP_KM, 10 * typical)
        far = (ok & (d > limit)).to_numpy()
        if far.any():
            i = first_row(far)
            out.append(finding("warning", f, f"{int(far.sum())} stop(s) lie far from the others (first "
                               f"'{stops['stop_id'].iloc[i - 1]}', {d.iloc[i - 1]:,.0f} km from the centre of the "
                               f"network, where half of the stops are within {typical:,.0f} km); check the coordinates "
                               "(a digit or sign may be wrong). Maps zoom out to include them", "stop_lat", i))
        if (lat[ok].abs() > 66).all():
            out.append(finding("warning", f, "every stop lies beyond the polar circles; check that stop_lat and "
                               "stop_lon are not swapped", "stop_lat"))
    if "parent_station" in stops:
        has_parent = _text(stops["parent_station"]) != ""
        if has_parent.any():
            out.append(finding("info", f, f"{int(has_parent.sum()):,} platform(s) or entrance(s) belong to parent "
                               "stations; a station is counted once for access", "parent_station"))
            unknown = has_parent & ~_text(stops["parent_station"]).isin(set(stops["stop_id"]))
            if unknown.any():
                i = first_row(unknown)
                out.append(finding("warning", f, f"{int(unknown.sum()):,} stop(s) name a parent_station that is not in "
                                   f"stops.txt (first '{stops['parent_station'].iloc[i - 1]}'); they are treated as "
                                   "stations of their own", "parent_station", i))
    names = _text(stops["stop_name"]) if "stop_name" in stops else pd.Series("", index=stops.index)
    if (names == "").any():
        blank = (names == "").to_numpy()
        out.append(finding("info", f, f"{int(blank.sum()):,} stop(s) have no stop_name; maps show their id instead",
                           "stop_name", first_row(blank)))
    return out


def _check_agency(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    ag = getattr(feed, "agency", None)
    f = f"{src}/agency.txt"
    if ag is None or ag.empty:
        return [finding("warning", f, "agency.txt has no rows; add the operator's name and time zone")]
    for col in ("agency_name", "agency_timezone"):
        if col not in ag.columns or (_text(ag[col]) == "").all():
            out.append(finding("warning", f, f"no {col}; add it (new-city uses it for the city's "
                               f"{'name' if col == 'agency_name' else 'time zone'})", col))
    if "agency_timezone" in ag.columns:
        from .city_profile import valid_timezone

        for i, tz in enumerate(_text(ag["agency_timezone"]), start=1):
            if tz and not valid_timezone(tz):
                out.append(finding("warning", f, f"'{tz}' is not a known time zone; write an IANA name such as "
                                   "America/Santiago or Asia/Shanghai", "agency_timezone", i))
                break
    return out


def _check_files(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    if getattr(feed, "shapes", None) is None or feed.shapes.empty:
        out.append(finding("info", f"{src}/shapes.txt", "absent: route lines are drawn straight from stop to stop and "
                           "route-km are measured the same way"))
    fr = getattr(feed, "frequencies", None)
    if fr is not None and not fr.empty:
        out.append(finding("info", f"{src}/frequencies.txt", f"{len(fr):,} frequency row(s): their trips are expanded "
                           "into concrete departures (start + k x headway, before the end time)"))
    cal = getattr(feed, "calendar", None)
    if cal is None or cal.empty:
        out.append(finding("info", f"{src}/calendar_dates.txt", "no calendar.txt: service days come from "
                           "calendar_dates.txt only"))
    return out


def check_feed_tables(feed, src: str) -> list[Finding]:
    """Every check of a read feed's tables, plus the reader's notes (repairs as info, guesses as warnings).

    ``src`` is the feed's path as the findings name it (``src/stops.txt``).
    """
    out: list[Finding] = []
    for check in (_check_agency, _check_keys, _check_routes, _check_trips, _check_times, _check_stops, _check_files):
        out += check(feed, src)
    for note in getattr(feed, "notes", []):
        # repairs that cannot change a result are notes; guesses (encodings, ignored values) are warnings
        sev = "info" if "entrance" in note else "warning"
        out.append(finding(sev, src, note))
    return out
