"""Unit tests of citybridge.service on hand-made GTFS fixtures, with answers
computed by hand (and, for the window statistics, checked against gtfs-kit)."""
from __future__ import annotations

import math
from pathlib import Path

import gtfs_kit as gk
import numpy as np
import pandas as pd
import pytest

from citybridge import feed as F
from citybridge import service as S
from citybridge.errors import ProfileError
from gtfs_fixtures import (AGENCY, CALENDAR, ROUTES, STOPS, frequency_tables, timetable_tables,
                           timetable_twin_of_frequency, write_feed)

DATE = "20260107"  # a Wednesday inside the fixtures' calendar
LINK_M = 998.93     # the fixture stops, 1 km apart on the ellipsoid, in EPSG:32719


def _day(tmp_path, tables, name="f.zip"):
    return F.prepare_day(F.read_feed(write_feed(tmp_path / name, tables)), DATE, crs="EPSG:32719")


def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}:00"


def overlap_tables() -> dict[str, str]:
    """Bus B1, S1→S2, five 30-minute trips starting 06:50, 07:00, 07:10,
    07:20, 07:30. Each trip that ends at 07:20 / 07:30 is replaced at that
    very minute by a new one, so at most 3 are in service at once (4 if an
    ending and a starting trip were wrongly counted together)."""
    st = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    trips = ["route_id,service_id,trip_id,direction_id"]
    for k, start in enumerate((410, 420, 430, 440, 450)):
        tid = f"O{k}"
        trips.append(f"B1,WK,{tid},0")
        st.append(f"{tid},{_hhmm(start)},{_hhmm(start)},S1,1")
        st.append(f"{tid},{_hhmm(start + 30)},{_hhmm(start + 30)},S2,2")
    return {"agency.txt": AGENCY, "stops.txt": STOPS, "routes.txt": ROUTES,
            "trips.txt": "\n".join(trips) + "\n", "stop_times.txt": "\n".join(st) + "\n",
            "calendar.txt": CALENDAR}


def both_ways_tables() -> dict[str, str]:
    """Bus B1 every 10 min each way between 07:00 and 08:00 (6 trips S1→S4 in
    direction 0, 6 trips S4→S1 in direction 1), all sharing the stop ids."""
    st = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    trips = ["route_id,service_id,trip_id,direction_id"]
    for k in range(6):
        for d, order in ((0, [1, 2, 3, 4]), (1, [4, 3, 2, 1])):
            tid = f"D{d}_{k}"
            trips.append(f"B1,WK,{tid},{d}")
            for i, s in enumerate(order):
                m = 420 + 10 * k + 6 * i
                st.append(f"{tid},{_hhmm(m)},{_hhmm(m)},S{s},{i + 1}")
    return {"agency.txt": AGENCY, "stops.txt": STOPS, "routes.txt": ROUTES,
            "trips.txt": "\n".join(trips) + "\n", "stop_times.txt": "\n".join(st) + "\n",
            "calendar.txt": CALENDAR}


# --------------------------------------------------------------------------
# periods and classes
# --------------------------------------------------------------------------

def test_period_of_handles_bounds_past_midnight_and_other():
    secs = pd.Series([3 * 3600, 4 * 3600, 7 * 3600 - 1, 7 * 3600, 25 * 3600, 28 * 3600, np.nan],
                     index=list("abcdefg"))
    out = S.period_of(secs, S.DEFAULT_PERIODS)
    assert list(out.index) == list("abcdefg")
    assert list(out) == ["other", "early", "early", "am_peak", "night", "other", "other"]


def test_bad_period_is_refused():
    with pytest.raises(ProfileError, match="'7h' is not HH:MM"):
        S.period_table({"am": ("7h", "09:00")})
    with pytest.raises(ProfileError, match="ends"):
        S.period_table({"am": ("09:00", "07:00")})


def test_headway_class_bounds_are_inclusive():
    out = S.headway_class(pd.Series([2, 5, 5.1, 10, 15, 30, 30.5, np.nan, np.inf]))
    assert list(out) == ["≤5", "≤5", "≤10", "≤10", "≤15", "≤30", ">30", "none", "none"]
    assert out.cat.ordered and list(out.cat.categories) == S.HEADWAY_CLASSES


# --------------------------------------------------------------------------
# routes
# --------------------------------------------------------------------------

def test_route_headways_from_known_departures(tmp_path):
    # B1 leaves S1 at 07:00, 07:10, 07:30 (and 24:50); window 07:00–09:00
    day = _day(tmp_path, timetable_tables())
    w = S.route_window_stats(day, start="07:00", end="09:00").set_index("route_id")
    assert w.loc["B1", "window_trips"] == 3
    assert w.loc["B1", "num_trips"] == 4          # gtfs-kit counts the whole day
    assert w.loc["B1", "mean_headway"] == pytest.approx(15.0)   # gaps 10 and 20 min
    assert w.loc["B1", "min_headway"] == pytest.approx(10.0)
    assert w.loc["B1", "max_headway"] == pytest.approx(20.0)
    assert np.isnan(w.loc["M1", "mean_headway"])  # a single metro trip: no gap

    rs = S.route_stats(day, periods={"am_peak": ("07:00", "09:00")})
    b = rs[(rs["route_id"] == "B1") & (rs["period"] == "am_peak")].iloc[0]
    assert b["trips"] == 3 and b["trips_one_way"] == 3
    assert b["trips_per_hour"] == pytest.approx(1.5)
    assert b["mean_headway_min"] == pytest.approx(40.0)  # 120 min / 3 trips
    # the 24:50 trip lies outside the only period given: an "other" row keeps the totals
    other = rs[(rs["route_id"] == "B1") & (rs["period"] == "other")].iloc[0]
    assert other["trips"] == 1 and np.isnan(other["mean_headway_min"])


def test_route_span_service_km_and_hours(tmp_path):
    day = _day(tmp_path, timetable_tables())
    rs = S.route_stats(day)
    b = rs[rs["route_id"] == "B1"]
    assert set(b["first_departure"]) == {"07:00"} and set(b["last_departure"]) == {"24:50"}
    assert set(b["last_departure_s"]) == {24 * 3600 + 50 * 60}
    am = b[b["period"] == "am_peak"].iloc[0]
    # 3 trips × 3 links of 1 km; 3 trips × 18 min
    assert am["service_km"] == pytest.approx(9.0, rel=2e-3)
    assert am["service_km"] == pytest.approx(9 * LINK_M / 1000, rel=1e-4)
    assert am["service_hours"] == pytest.approx(0.9)
    tot = S.route_totals(rs).set_index("route_id")
    assert tot.loc["B1", "trips"] == 4
    assert tot.loc["B1", "service_km"] == pytest.approx(12.0, rel=2e-3)
    assert tot.loc["B1", "service_hours"] == pytest.approx(1.2)
    assert tot.loc["B1", "span_hours"] == pytest.approx(17 + 50 / 60)
    assert tot.loc["M1", "peak_vehicles"] == 1


@pytest.mark.unit
def test_peak_vehicles_by_period_from_a_trip_table():
    """Peak vehicles counted by hand: the level at a period's start counts trips begun before it;
    a trip ending when another starts does not overlap it; where periods overlap, a trip start
    belongs to the first listed, but each period still gets its own level at its start; a trip
    without a direction is left out of the by-direction count."""
    h = 3600.0
    t = pd.DataFrame({
        "trip_id": ["a", "b", "c", "d", "e"],
        "route_id": ["R"] * 4 + ["Q"],
        "direction_id": pd.array([0, 0, 1, None, 0], dtype="Int32"),
        "start_s": [6 * h, 8 * h, 9 * h, 8.5 * h, 23 * h],
        "end_s": [9 * h, 9.5 * h, 10 * h, 8.75 * h, 25 * h],
        "duration_h": [3.0, 1.5, 1.0, 0.25, 2.0],
        "distance_km": [10.0] * 5,
    })
    periods = {"first": ("07:00", "09:00"), "second": ("08:00", "12:00"), "night": ("24:00", "26:00")}
    t["period"] = S.period_of(t["start_s"], periods).to_numpy()
    routes = pd.DataFrame({"route_id": ["R", "Q"], "route_short_name": ["R", "Q"], "route_long_name": ["", ""],
                           "mode": ["bus", "bus"]})
    rs = S.route_table(t, routes, periods=periods).set_index(["route_id", "period"])["peak_vehicles"]
    # R: a runs 06–09 (level 1 at 07:00), b 08–09:30 and d 08:30–08:45 → 3 at 08:30; a ends at 09:00 as c starts
    assert rs["R", "first"] == 3
    # the 08:30 start belongs to "first" (listed first); "second" sees its own level at 08:00 (a, b: 2)
    # and its later instants (09:00: b, c; 09:30: c)
    assert rs["R", "second"] == 2
    assert rs["R", "night"] == 0
    assert rs["R", "other"] == 1  # 06:00 (a alone) falls in no period
    assert rs["Q", "night"] == 1  # level at 24:00: e runs 23:00–25:00
    assert ("Q", "first") in rs.index and rs["Q", "first"] == 0
    day = S.route_table(t, routes, periods=periods).drop_duplicates("route_id").set_index("route_id")
    assert day.loc["R", "peak_vehicles_day"] == 3 and day.loc["Q", "peak_vehicles_day"] == 1
    # by direction: d (no direction) is left out; direction 0 of R has a and b → 2 at 08:00
    rd = S.route_table(t, routes, periods=periods, split_directions=True)
    r0 = rd[(rd["route_id"] == "R") & (rd["direction_id"] == 0)].set_index("period")["peak_vehicles"]
    assert r0["first"] == 2 and r0["second"] == 2


def test_peak_vehicles_of_overlapping_trips(tmp_path):
    day = _day(tmp_path, overlap_tables())
    rs = S.route_stats(day).set_index("period")
    # early (04–07): only the 06:50 trip; am_peak: never more than 3 at once
    assert rs.loc["early", "peak_vehicles"] == 1
    assert rs.loc["am_peak", "peak_vehicles"] == 3
    assert rs.loc["midday", "peak_vehicles"] == 0
    assert set(rs["peak_vehicles_day"]) == {3}
    # the same answer from gtfs-kit's own sweep
    feed = F.read_feed(tmp_path / "f.zip")
    gks = gk.compute_route_stats(feed, [DATE], headway_start_time="07:00:00", headway_end_time="09:00:00")
    assert int(gks.set_index("route_id").loc["B1", "peak_num_trips"]) == 3


def test_split_directions_and_one_way_headways(tmp_path):
    day = _day(tmp_path, both_ways_tables())
    periods = {"h7": ("07:00", "08:00")}
    rs = S.route_stats(day, periods=periods)
    r = rs[rs["period"] == "h7"].iloc[0]
    assert r["trips"] == 12 and r["trips_one_way"] == 6
    assert r["mean_headway_min"] == pytest.approx(10.0)   # one-way, not 5
    sd = S.route_stats(day, periods=periods, split_directions=True)
    sd = sd[sd["period"] == "h7"].set_index("direction_id")
    assert list(sd["trips"]) == [6, 6] and list(sd["mean_headway_min"]) == [10.0, 10.0]


# --------------------------------------------------------------------------
# stops and modes
# --------------------------------------------------------------------------

def test_stop_stats_count_departures_not_arrivals(tmp_path):
    day = _day(tmp_path, timetable_tables())
    ss = S.stop_stats(day).set_index(["stop_id", "period"])
    s1 = ss.loc[("S1", "am_peak")]
    assert s1["departures"] == 4 and s1["routes"] == 2       # 3 buses + 1 metro
    assert s1["mean_headway_min"] == pytest.approx(30.0)     # 120 min / 4
    assert s1["modes"] == "bus,metro"
    # S4 ends every trip: served, but never a departure
    s4 = ss.loc[("S4", "am_peak")]
    assert s4["departures"] == 0 and np.isnan(s4["mean_headway_min"])
    assert ss.loc[("S1", "night"), "departures"] == 1          # the 24:50 bus


def test_stop_served_both_ways_is_not_twice_as_frequent(tmp_path):
    day = _day(tmp_path, both_ways_tables())
    # direction 0 leaves S2 at 07:06..07:56, direction 1 at 07:12..08:02
    ss = S.stop_stats(day, periods={"h": ("07:05", "08:05")}).set_index("stop_id")
    assert ss.loc["S2", "departures"] == 12
    assert ss.loc["S2", "departures_one_way"] == 6
    assert ss.loc["S2", "mean_headway_min"] == pytest.approx(10.0)
    assert ss.loc["S2", "trips_per_hour"] == pytest.approx(6.0)


def test_mode_stats_and_departures_by_hour(tmp_path):
    day = _day(tmp_path, timetable_tables())
    ms = S.mode_stats(day).set_index(["mode", "period"])
    assert list(ms.index.get_level_values("mode").unique()) == ["metro", "bus"]
    bus = ms.loc[("bus", "am_peak")]
    assert bus["routes"] == 1 and bus["trips"] == 3 and bus["peak_vehicles"] == 2
    assert bus["trips_per_hour"] == pytest.approx(1.5)
    assert bus["median_headway_min"] == pytest.approx(40.0)
    assert ms.loc[("bus", "night"), "trips"] == 1
    dh = S.departures_by_hour(day)
    assert dh["hour"].min() == 0 and dh["hour"].max() == 27
    assert len(dh) == 28 * 2
    got = dh[dh["departures"] > 0].set_index(["hour", "mode"])["departures"].to_dict()
    assert got == {(7, "bus"): 3, (8, "metro"): 1, (24, "bus"): 1}


def test_frequency_trips_match_their_timetable_twin(tmp_path):
    freq = _day(tmp_path, frequency_tables(), "freq.zip")
    twin = _day(tmp_path, timetable_twin_of_frequency(), "twin.zip")
    for fn in (S.route_stats, S.stop_stats, S.mode_stats):
        a, b = fn(freq), fn(twin)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    pd.testing.assert_frame_equal(S.departures_by_hour(freq), S.departures_by_hour(twin))
    pd.testing.assert_frame_equal(S.route_window_stats(freq), S.route_window_stats(twin))
    am = S.route_stats(freq).query("period == 'am_peak'").iloc[0]
    assert am["trips"] == 3 and am["peak_vehicles"] == 2  # 07:00–07:18, 07:10–07:28, 07:20–07:38 → 07:20: 2


# --------------------------------------------------------------------------
# agreement with gtfs-kit
# --------------------------------------------------------------------------

def _gtfs_kit_window(feed, start: str, end: str) -> pd.DataFrame:
    if feed.frequencies is not None and not feed.frequencies.empty:
        feed = gk.expand_frequencies(feed)
    gks = gk.compute_route_stats(feed, [DATE], headway_start_time=start, headway_end_time=end)
    return gks.set_index("route_id")[["num_trips", "mean_headway"]]


@pytest.mark.parametrize("tables", [timetable_tables, frequency_tables, overlap_tables, both_ways_tables])
# the second window starts and ends exactly on departures (07:10 and 24:50): both ends are inclusive
@pytest.mark.parametrize("window", [("07:00", "09:00"), ("07:10", "24:50")])
def test_route_window_stats_agree_with_gtfs_kit(tmp_path, tables, window):
    path = write_feed(tmp_path / "g.zip", tables())
    feed = F.read_feed(path)
    ours = S.route_window_stats(F.prepare_day(feed, DATE, crs="EPSG:32719"),
                                start=window[0], end=window[1]).set_index("route_id")
    theirs = _gtfs_kit_window(feed, window[0] + ":00", window[1] + ":00")
    assert sorted(ours.index) == sorted(theirs.index)
    for rid in ours.index:
        assert ours.loc[rid, "num_trips"] == theirs.loc[rid, "num_trips"]
        a, b = ours.loc[rid, "mean_headway"], float(theirs.loc[rid, "mean_headway"])
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


# The same agreement on the sample feeds (data/cities/<slug>/gtfs.zip, built by
# citybridge.samples): each feed is read with citybridge.feed.read_feed, the date
# is feed.choose_date's, the day is the city's (feed_day: prepared in the city's CRS), and
# route_window_stats is compared with gtfs_kit.compute_route_stats for that date
# and the 07:00–09:00 window. gtfs-kit's trip statistics take 15–20 s per sample
# feed, so the comparison runs on two routes of every mode (the smallest with
# headways in the window; gtfs_kit.restrict_to_routes and restrict_to_dates). Santiago's metro is frequency-based,
# so gtfs-kit needs expand_frequencies first. A city whose feed is absent is skipped.
_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("slug", ["hangzhou", "santiago"])
def test_route_window_stats_agree_with_gtfs_kit_on_sample_feeds(slug, city_feed):
    path = _ROOT / "data" / "cities" / slug / "gtfs.zip"
    if not path.is_file():
        pytest.skip(f"{path} not built yet")
    from citybridge.city import load_city

    city = load_city(_ROOT / "data" / "cities" / slug, check_files=False)
    feed = city_feed(slug)  # F.read_feed(path, datum=city.profile.source_datum), read once per session
    if "direction_id" not in feed.trips.columns or feed.trips["direction_id"].isna().any():
        pytest.skip("gtfs-kit leaves headways empty without direction_id (see route_window_stats)")
    date = F.choose_date(feed)
    day = F.feed_day(city)  # the city's analysis day (that date, the city's CRS), prepared once per session
    assert (day.date, day.crs) == (date, city.profile.crs)
    ours = S.route_window_stats(day, start="07:00", end="09:00").set_index("route_id")
    # per mode, the two smallest routes (by trips of the day) with at least 3 trips in the window
    pick = (ours[ours["window_trips"] >= 3].join(day.trips.drop_duplicates("route_id")
                                                  .set_index("route_id")["mode"])
            .sort_values(["mode", "num_trips"]).groupby("mode").head(2))
    routes = sorted(pick.index)
    sub = gk.restrict_to_dates(gk.restrict_to_routes(feed, routes), [date])
    if sub.frequencies is not None and not sub.frequencies.empty:
        sub = gk.expand_frequencies(sub)
    theirs = gk.compute_route_stats(sub, [date], headway_start_time="07:00:00",
                                    headway_end_time="09:00:00").set_index("route_id")
    assert sorted(theirs.index) == routes
    ours = ours.loc[routes]
    theirs = theirs.loc[routes]
    assert (ours["num_trips"].to_numpy() == theirs["num_trips"].to_numpy()).all()
    np.testing.assert_allclose(ours["mean_headway"].to_numpy(dtype=float),
                               theirs["mean_headway"].to_numpy(dtype=float), rtol=1e-9, equal_nan=True)
    assert ours["mean_headway"].notna().any()


def test_network_peak_vehicles_counts_simultaneous_trips(tmp_path):
    from citybridge import feed as F
    from citybridge.service import network_peak_vehicles
    from gtfs_fixtures import timetable_tables, write_feed
    day = F.prepare_day(F.read_feed(write_feed(tmp_path / "p.zip", timetable_tables())), "20260107",
                        crs="EPSG:32719")
    # bus trips 07:00-07:18, 07:10-07:28, 07:30-07:48, 24:50-25:08; metro 08:00-08:06
    # at most two are in progress at once (07:10-07:18)
    assert network_peak_vehicles(day) == 2
