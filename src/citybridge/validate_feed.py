"""Checks of a GTFS feed's tables for ``citybridge validate``: keys, routes, trips, times, stops, agency, files.

Each check returns :class:`~citybridge.findings.Finding` objects naming the
table (``.../gtfs.zip/stops.txt``), the column and the row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .findings import Finding, finding, first_row
from .texts import T, Text, translate


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
            out.append(finding("fatal", f"{src}/{name}.txt", T("{n} duplicate {key} value(s), first '{value}'; "
                                                               "every {key} must be unique: rename or remove the "
                                                               "repeated rows", n=int(dup.sum()), key=key,
                                                               value=str(df[key].iloc[i - 1])), key, i))
    unknown_stop = ~st["stop_id"].isin(set(stops["stop_id"]))
    if unknown_stop.any():
        i = first_row(unknown_stop)
        out.append(finding("warning", f"{src}/stop_times.txt", T(
            "{n:,} stop time(s) name a stop not in stops.txt (first '{stop}'); they are left out of maps and "
            "distances. Add the stops or correct the ids", n=int(unknown_stop.sum()),
            stop=str(st["stop_id"].iloc[i - 1])), "stop_id", i))
    if "location_type" in stops:
        lt = pd.to_numeric(stops["location_type"], errors="coerce").fillna(0)
        stations = set(stops.loc[lt == 1, "stop_id"])
        at_station = st["stop_id"].isin(stations)
        if at_station.any():
            i = first_row(at_station)
            out.append(finding("warning", f"{src}/stop_times.txt", T(
                "{n:,} stop time(s) name a parent station (location_type 1) instead of a stop or platform (first "
                "'{stop}'); GTFS requires a stop; name the platform", n=int(at_station.sum()),
                stop=str(st["stop_id"].iloc[i - 1])), "stop_id", i))
    unknown_route = ~trips["route_id"].isin(set(routes["route_id"]))
    if unknown_route.any():
        i = first_row(unknown_route)
        out.append(finding("warning", f"{src}/trips.txt", T(
            "{n:,} trip(s) name a route not in routes.txt (first '{route}'); their mode is unknown ('other'). "
            "Add the route or correct the id", n=int(unknown_route.sum()), route=str(trips["route_id"].iloc[i - 1])),
            "route_id", i))
    no_st = ~trips["trip_id"].isin(set(st["trip_id"]))
    if no_st.any():
        i = first_row(no_st)
        out.append(finding("warning", f"{src}/trips.txt", T("{n:,} trip(s) have no stop times (first '{trip}'); "
                                                            "they are ignored", n=int(no_st.sum()),
                                                            trip=str(trips["trip_id"].iloc[i - 1])), "trip_id", i))
    no_trip = ~routes["route_id"].isin(set(trips["route_id"]))
    if no_trip.any():
        out.append(finding("info", f"{src}/routes.txt", T("{n:,} route(s) have no trips and are left out of every "
                                                          "chapter", n=int(no_trip.sum())), "route_id",
                           first_row(no_trip)))
    return out


def _check_routes(feed, src: str) -> list[Finding]:
    from .feed import mode_of

    out: list[Finding] = []
    modes = mode_of(feed.routes["route_type"])
    other = (modes == "other").to_numpy()
    if other.any():
        i = first_row(other)
        out.append(finding("warning", f"{src}/routes.txt", T(
            "{n} route(s) have a route_type the workbook does not map to a mode (first {value}); they count as "
            "'other'. Use a basic GTFS type (0-7, 11, 12) or an extended one (100-1700)", n=int(other.sum()),
            value=str(feed.routes["route_type"].iloc[i - 1])), "route_type", i))
    counts = modes.value_counts()
    each = [Text.join([Text.of(translate, m), f" {n}"]) for m, n in counts.items()]  # mode names translated
    out.append(finding("info", f"{src}/routes.txt", T("modes: {counts} route(s)", counts=Text.join(each, ", "))))
    return out


def _check_trips(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    trips = feed.trips
    if "direction_id" not in trips.columns:
        out.append(finding("warning", f"{src}/trips.txt", T(
            "no direction_id column: the two directions of a route cannot be told apart, so headways are computed "
            "as if all trips ran one way (both directions together: headways look about twice as frequent). Add "
            "direction_id (0 or 1) if you can"), "direction_id"))
    else:
        d = pd.to_numeric(trips["direction_id"], errors="coerce")
        blank = d.isna().to_numpy()
        if blank.any():
            out.append(finding("warning", f"{src}/trips.txt", T("{n:,} trip(s) have a blank direction_id; they are "
                                                                "treated as direction 0", n=int(blank.sum())),
                               "direction_id", first_row(blank)))
        odd = (d.notna() & ~d.isin([0, 1])).to_numpy()
        if odd.any():
            i = first_row(odd)
            out.append(finding("warning", f"{src}/trips.txt", T("{n:,} trip(s) have a direction_id other than 0 or 1 "
                                                                "(first {value}); write 0 or 1", n=int(odd.sum()),
                                                                value=str(d.iloc[i - 1])), "direction_id", i))
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
            out.append(finding("warning", f, T("{n:,} value(s) are not times written H:MM:SS (first '{value}'); "
                                               "they are treated as blank. Write e.g. 07:05:00, or 25:10:00 for 1:10 "
                                               "after midnight of the service day", n=int(bad.sum()),
                                               value=str(raw.iloc[i - 1])), c, i))
        big = (s > 48 * 3600).to_numpy()
        if big.any():
            i = first_row(big)
            out.append(finding("warning", f, T("{n:,} time(s) are more than 48 hours after midnight (first "
                                               "'{value}'); check the hours", n=int(big.sum()),
                                               value=str(raw.iloc[i - 1])), c, i))
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
        out.append(finding("info", f, T("{n:,} blank intermediate stop time(s) (stops without a published time) "
                                        "are interpolated linearly between the timed stops of their trip",
                                        n=int(mid.sum())), "departure_time", int(order.loc[mid, "row"].min())))
    if ends.any():
        n_trips = order.loc[ends, "trip"].nunique()
        out.append(finding("warning", f, T("{n:,} trip(s) have no time at their first or last stop ({times:,} stop "
                                           "time(s)); those untimed ends are dropped, so the trips look shorter. GTFS "
                                           "requires times at both ends: add them", n=int(n_trips),
                                           times=int(ends.sum())), "departure_time",
                           int(order.loc[ends, "row"].min())))
    timed = order.dropna(subset=["t"])
    prev = timed.groupby("trip", sort=False)["t"].shift()
    back = (timed["a"] < prev).to_numpy()
    if back.any():
        i = int(timed["row"].to_numpy()[np.flatnonzero(back)[0]])
        out.append(finding("warning", f, T("{n:,} stop time(s) are earlier than the previous stop of their trip "
                                           "(first trip '{trip}'); check the times and stop_sequence; speeds on "
                                           "those segments are wrong", n=int(back.sum()),
                                           trip=str(timed["trip"].to_numpy()[np.flatnonzero(back)[0]])),
                           "arrival_time", i))
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
            out.append(finding("warning", f, T("{n} stop(s) lie far from the others (first '{stop}', {km:,.0f} km "
                                               "from the centre of the network, where half of the stops are within "
                                               "{typical:,.0f} km); check the coordinates (a digit or sign may be "
                                               "wrong). Maps zoom out to include them", n=int(far.sum()),
                                               stop=str(stops["stop_id"].iloc[i - 1]), km=float(d.iloc[i - 1]),
                                               typical=typical), "stop_lat", i))
        if (lat[ok].abs() > 66).all():
            out.append(finding("warning", f, T("every stop lies beyond the polar circles; check that stop_lat and "
                                               "stop_lon are not swapped"), "stop_lat"))
    if "parent_station" in stops:
        has_parent = _text(stops["parent_station"]) != ""
        if has_parent.any():
            out.append(finding("info", f, T("{n:,} platform(s) or entrance(s) belong to parent stations; a station "
                                            "is counted once for access", n=int(has_parent.sum())), "parent_station"))
            unknown = has_parent & ~_text(stops["parent_station"]).isin(set(stops["stop_id"]))
            if unknown.any():
                i = first_row(unknown)
                out.append(finding("warning", f, T("{n:,} stop(s) name a parent_station that is not in stops.txt "
                                                   "(first '{station}'); they are treated as stations of their own",
                                                   n=int(unknown.sum()),
                                                   station=str(stops["parent_station"].iloc[i - 1])),
                                   "parent_station", i))
    names = _text(stops["stop_name"]) if "stop_name" in stops else pd.Series("", index=stops.index)
    if (names == "").any():
        blank = (names == "").to_numpy()
        out.append(finding("info", f, T("{n:,} stop(s) have no stop_name; maps show their id instead",
                                        n=int(blank.sum())), "stop_name", first_row(blank)))
    return out


def _check_agency(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    ag = getattr(feed, "agency", None)
    f = f"{src}/agency.txt"
    if ag is None or ag.empty:
        return [finding("warning", f, T("agency.txt has no rows; add the operator's name and time zone"))]
    for col in ("agency_name", "agency_timezone"):
        if col not in ag.columns or (_text(ag[col]) == "").all():
            out.append(finding("warning", f, T("no agency_name; add it (new-city uses it for the city's name)")
                               if col == "agency_name" else
                               T("no agency_timezone; add it (new-city uses it for the city's time zone)"), col))
    if "agency_timezone" in ag.columns:
        from .city_profile import valid_timezone

        for i, tz in enumerate(_text(ag["agency_timezone"]), start=1):
            if tz and not valid_timezone(tz):
                out.append(finding("warning", f, T("'{tz}' is not a known time zone; write an IANA name such as "
                                                   "America/Santiago or Asia/Shanghai", tz=tz), "agency_timezone", i))
                break
    return out


def _check_files(feed, src: str) -> list[Finding]:
    out: list[Finding] = []
    if getattr(feed, "shapes", None) is None or feed.shapes.empty:
        out.append(finding("info", f"{src}/shapes.txt", T("absent: route lines are drawn straight from stop to "
                                                          "stop and route-km are measured the same way")))
    fr = getattr(feed, "frequencies", None)
    if fr is not None and not fr.empty:
        out.append(finding("info", f"{src}/frequencies.txt", T("{n:,} frequency row(s): their trips are expanded "
                                                               "into concrete departures (start + k x headway, "
                                                               "before the end time)", n=len(fr))))
    cal = getattr(feed, "calendar", None)
    if cal is None or cal.empty:
        out.append(finding("info", f"{src}/calendar_dates.txt", T("no calendar.txt: service days come from "
                                                                  "calendar_dates.txt only")))
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
