"""Unit tests of citybridge.resilience and citybridge.criticality, with hand-computed answers."""
from __future__ import annotations

import math

import geopandas as gpd
import pytest
from shapely.geometry import box, mapping

from citybridge import access as A
from citybridge import criticality as C
from citybridge import feed as F
from citybridge import resilience as R
from citybridge.errors import ScenarioError
from gtfs_fixtures import AGENCY, CALENDAR, write_feed

DATE = "20260107"
CRS = "EPSG:32719"
POLY_TOL = 2.5e-3   # 16 segments per quarter circle: area 0.16 % under π·r²
STEP = 0.016        # degrees of longitude between stops, about 1.49 km at 33.45 S


def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}:00"


def _tables(stops: dict[str, int], routes: list[tuple[str, int]],
            trips: list[tuple[str, str, int, int, list[str], int]]):
    """stops: id -> position index on the line (lon = -70.70 + index·STEP);
    trips: (route, trip_id, direction, start minute, stop ids, minutes between stops)."""
    s = ["stop_id,stop_name,stop_lat,stop_lon"] + [f"{k},Parada {k},-33.45,{-70.70 + i * STEP:.6f}"
                                                   for k, i in stops.items()]
    r = ["route_id,agency_id,route_short_name,route_long_name,route_type"] + [f"{k},A,{k},Línea {k},{t}"
                                                                              for k, t in routes]
    tr, st = ["route_id,service_id,trip_id,direction_id"], ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    for route, tid, direction, start, seq, gap in trips:
        tr.append(f"{route},WK,{tid},{direction}")
        st += [f"{tid},{_hhmm(start + gap * i)},{_hhmm(start + gap * i)},{sid},{i + 1}" for i, sid in enumerate(seq)]
    return {"agency.txt": AGENCY, "stops.txt": "\n".join(s) + "\n", "routes.txt": "\n".join(r) + "\n",
            "trips.txt": "\n".join(tr) + "\n", "stop_times.txt": "\n".join(st) + "\n", "calendar.txt": CALENDAR}


def _day(tmp_path, tables):
    return F.prepare_day(F.read_feed(write_feed(tmp_path / "feed.zip", tables)), DATE, crs=CRS)


def _districts(rows):
    """rows: (id, x0, y0, x1, y1, population)."""
    return gpd.GeoDataFrame({"district_id": [r[0] for r in rows], "name": [f"Comuna {r[0]}" for r in rows],
                             "population": [float(r[5]) for r in rows], "area_class": ["urban"] * len(rows)},
                            geometry=[box(*r[1:5]) for r in rows], crs=CRS)


# --------------------------------------------------------------------------
# A bus line S1–S2–S3 (each ~7.5 km apart); one small district around S1, one around S2
# --------------------------------------------------------------------------

@pytest.fixture
def bus_line(tmp_path):
    stops = {"S1": 0, "S2": 5, "S3": 10}
    trips = [("R", f"T{k}", 0, 420 + 20 * k, ["S1", "S2", "S3"], 10) for k in range(3)]
    day = _day(tmp_path, _tables(stops, [("R", 3)], trips))
    xy = day.stops_xy()
    rows = []
    for did, sid, pop in (("A", "S1", 1000), ("B", "S2", 2000)):
        x, y = xy.loc[sid, ["x", "y"]]
        rows.append((did, x - 300, y - 300, x + 300, y + 300, pop))   # inside the 500 m circle
    return day, _districts(rows)


def test_closing_the_only_stop_of_a_district_removes_its_whole_population(bus_line):
    day, d = bus_line
    imp = R.impact(day, d, {"name": "S1 closed", "stops": ["S1"]})
    by = imp.districts.set_index("district_id")
    assert by.loc["A", "covered_before"] == pytest.approx(1000)
    assert by.loc["A", "lose_access"] == pytest.approx(1000)
    assert by.loc["B", "lose_access"] == pytest.approx(0)
    assert imp.summary.set_index("scope").loc["city", "lose_access"] == pytest.approx(1000)
    s = imp.service.set_index("mode").loc["bus"]
    # three trips keep S2 and S3: cut, not removed; the link S1→S2 has one open end, so it still runs
    assert (s["trips"], s["trips_removed"], s["trips_cut"], s["calls_closed"], s["stations_closed"]) == (3, 0, 3, 3, 1)
    assert s["vehicle_km_removed"] == 0
    assert imp.stations.set_index("station_id").loc["S1", "closed"]


def test_a_polygon_closes_the_stops_inside_it(bus_line):
    day, d = bus_line
    poly = box(-70.705, -33.455, -70.695, -33.445)          # around S1 only, in lon/lat
    imp = R.impact(day, d, {"name": "flood", "polygon": mapping(poly)})
    assert list(imp.closure.pairs["station_id"]) == ["S1"]
    assert imp.summary.set_index("scope").loc["city", "lose_access"] == pytest.approx(1000)


def test_closing_two_stops_removes_the_trips_and_their_km(bus_line):
    day, _ = bus_line
    cl = R.resolve(day, R.Disruption("two", stops=("S2", "Parada S3")))   # by id and by name
    s = R.removed_service(day, cl).set_index("mode").loc["bus"]
    km = day.stops_xy().loc["S3", "x"] - day.stops_xy().loc["S1", "x"]
    assert (s["trips_removed"], s["trips_cut"]) == (3, 0)     # one call left: no trip
    assert s["vehicle_km_removed"] == pytest.approx(3 * km / 1000, rel=1e-3)


def test_window_closes_only_the_calls_inside_it(bus_line):
    day, _ = bus_line
    cl = R.resolve(day, {"name": "w", "stops": ["S1"], "window": ["07:15", "07:45"]})
    assert R.closed_calls(day, cl).sum() == 2                 # the 07:20 and 07:40 departures


# --------------------------------------------------------------------------
# A metro M1..M4 every 5 min both ways, a frequent bus B1→B2 at the places of M1, M2,
# and a bus C (every 30 min) B2→B3 alongside the section M2–M3
# --------------------------------------------------------------------------

@pytest.fixture
def metro_and_bus(tmp_path):
    stops = {"M1": 0, "M2": 1, "M3": 2, "M4": 3, "B1": 0, "B2": 1, "B3": 2}
    line = ["M1", "M2", "M3", "M4"]
    trips = [("M", f"E{k}", 0, 420 + 5 * k, line, 2) for k in range(24)]
    trips += [("M", f"W{k}", 1, 420 + 5 * k, line[::-1], 2) for k in range(24)]
    trips += [("F", f"F{k}", 0, 420 + 6 * k, ["B1", "B2"], 3) for k in range(20)]
    trips += [("F", f"G{k}", 1, 420 + 6 * k, ["B2", "B1"], 3) for k in range(20)]
    trips += [("C", f"C{k}", 0, 420 + 30 * k, ["B2", "B3"], 3) for k in range(4)]
    day = _day(tmp_path, _tables(stops, [("M", 1), ("F", 3), ("C", 3)], trips))
    xy = day.stops_xy()
    x0, y0 = xy.loc["M1", ["x", "y"]]
    x3 = xy.loc["M4", "x"]
    d = _districts([("D", x0 - 1000, y0 - 1000, x3 + 1000, y0 + 1000, 1_000_000)])
    return day, d


def test_section_with_a_parallel_frequent_bus_keeps_frequent_access_where_the_bus_serves(metro_and_bus):
    day, d = metro_and_bus
    imp = R.impact(day, d, {"name": "M2–M3", "segments": [{"route": "M", "from": "M2", "to": "M3"}]})
    st = imp.stations.set_index("station_id")
    assert st.loc["M2", "closed"] and st.loc["M3", "closed"]
    assert st.loc["B2", "frequent_after"] and not st.loc["B3", "frequent_before"]
    # only the circle around M3 is lost: M2's is covered by the frequent bus at B2
    area = day.stops_xy()
    box_area = (area.loc["M4", "x"] - area.loc["M1", "x"] + 2000) * 2000
    expected = 1_000_000 * math.pi * 500 ** 2 / box_area
    assert imp.summary.set_index("scope").loc["city", "lose_frequent"] == pytest.approx(expected, rel=POLY_TOL)
    s = imp.service.set_index("mode").loc["metro"]
    gap = area.loc["M3", "x"] - area.loc["M2", "x"]
    assert (s["trips_removed"], s["trips_cut"]) == (0, 48)
    assert s["vehicle_km_removed"] == pytest.approx(48 * gap / 1000, rel=1e-3)


def test_criticality_equals_the_one_at_a_time_impact(metro_and_bus):
    day, d = metro_and_bus
    crit = C.criticality(day, d)
    sec = crit[crit["kind"] == "metro section"]
    assert len(sec) == 3
    for _, r in sec.iterrows():
        imp = R.impact(day, d, R.Disruption("one", segments=((r["route_id"], r["from_station"], r["to_station"]),)))
        alone = imp.summary.set_index("scope").loc["city", "lose_frequent"]
        assert r["pop_lose_frequent"] == pytest.approx(alone, rel=1e-9, abs=1e-6)
    # M3–M4 loses two full circles, the most critical; M1–M2 loses nothing (the bus covers both)
    top = crit.iloc[0]
    assert (top["from_station"], top["to_station"], top["rank"]) == ("M3", "M4", 1)
    assert sec.set_index("from_station").loc["M1", "pop_lose_frequent"] == 0
    assert C.exposed_population(crit, d, crs=day.crs) == pytest.approx(top["pop_lose_frequent"], rel=1e-9)


def test_bus_bridge_shortfall(metro_and_bus):
    day, _ = metro_and_bus
    br = C.bus_bridge(day, {"name": "M2–M3", "segments": [{"route": "M", "from": "M2", "to": "M3"}]},
                      capacity={"metro": 1000, "bus": 100})
    assert len(br) == 1
    b = br.iloc[0]
    # 24 trains an hour... 12/h each way; bus C (4 trips in 2 h) calls near both M2 and M3, bus F only near M2
    assert b["metro_trains_per_hour"] == 12 and b["metro_capacity_per_hour"] == 12000
    assert b["parallel_routes"] == "C" and b["parallel_buses_per_hour"] == 2
    assert b["shortfall_per_hour"] == 11800 and b["bridge_buses_per_hour"] == 118
    nocap = C.bus_bridge(day, {"name": "x", "routes": ["M"]}, capacity={})
    assert len(nocap) == 3 and nocap["bridge_buses_per_hour"].isna().all()


def test_metro_sections_follow_stop_order(metro_and_bus):
    day, _ = metro_and_bus
    sec = C.metro_sections(day)
    assert list(zip(sec["from_station"], sec["to_station"])) == [("M1", "M2"), ("M2", "M3"), ("M3", "M4")]
    assert list(sec["trains_day"]) == [48, 48, 48] and list(sec["trains_per_hour"]) == [12, 12, 12]


# --------------------------------------------------------------------------
# Bad input: the message names the scenario and the field
# --------------------------------------------------------------------------

@pytest.mark.parametrize("spec,field,words", [
    ({"name": "x", "stops": ["Nowhere"]}, "stops[0]", "unknown stop 'Nowhere'"),
    ({"name": "x", "routes": ["L9"]}, "routes[0]", "unknown route or line 'L9'"),
    ({"name": "x", "segments": [{"route": "F", "from": "M1", "to": "M4"}]}, "segments[0]", "no trip calling at both"),
    ({"name": "x", "segments": [{"route": "M", "from": "M1"}]}, "segments[0]", "route: L1, from"),
    ({"name": "x", "polygon": {"type": "Polygon", "coordinates": []}}, "polygon", "empty or not a polygon"),
    ({"name": "x", "polygon": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}},
     "polygon", "invalid polygon"),
    ({"name": "x", "polygon": {"type": "Nonsense"}}, "polygon", "not a GeoJSON polygon"),
    ({"name": "x", "stops": ["M1"], "window": ["02:00", "03:00"]}, "window", "outside the service day"),
    ({"name": "x", "stops": ["M1"], "window": ["seven", "nine"]}, "window", "not HH:MM"),
    ({"name": "x", "stop": ["M1"]}, "stop", "unknown field"),
    ({"name": "x"}, "stops", "closes nothing"),
])
def test_bad_scenarios_name_scenario_and_field(metro_and_bus, spec, field, words):
    day, _ = metro_and_bus
    with pytest.raises(ScenarioError) as e:
        R.resolve(day, spec)
    assert f"scenario 'x', field '{field}'" in str(e.value) and words in str(e.value)


class _Profile:
    def __init__(self, scenarios):
        self.scenarios = scenarios


class _City:
    def __init__(self, scenarios):
        self.profile = _Profile(scenarios)
        self.periods = None


def test_scenarios_skip_the_bad_one_and_default_when_none(metro_and_bus):
    day, _ = metro_and_bus
    ok, bad = C.scenarios(_City([{"name": "good", "routes": ["M"]}, {"name": "bad", "stops": ["Nowhere"]}]), day)
    assert [s.name for s in ok] == ["good"] and len(bad) == 1 and "scenario 'bad'" in bad[0]
    ok, bad = C.scenarios(_City([]), day)
    assert not bad and ok[0].segments == (("M", "M1", "M2"),)
    assert ok[1].stops == ("B1", "B2")          # F: 10 buses an hour, the busiest bus route


def test_exercise_checks_reject_the_known_wrong_methods(metro_and_bus):
    from citybridge import exercises

    day, d = metro_and_bus
    crit = C.criticality(day, d)
    sec = crit[crit["kind"] == "metro section"]
    assert "correct" in exercises.check("09.1", float(sec["pop_lose_frequent"].max()), crit=crit).text
    # summing every section's loss counts people twice
    assert "not yet" in exercises.check("09.1", float(sec["pop_lose_frequent"].sum()), crit=crit).text
    imp = R.impact(day, d, {"name": "M3–M4", "segments": [{"route": "M", "from": "M3", "to": "M4"}]})
    c = imp.summary.set_index("scope").loc["city"]
    assert "correct" in exercises.check("09.2", c["lose_frequent"] / c["population"], imp=imp).text
    # a share of the people near frequent transit, not of the whole population
    assert "not yet" in exercises.check("09.2", c["lose_frequent"] / c["frequent_before"], imp=imp).text


def test_criticality_sentence_names_the_top_section(metro_and_bus):
    day, d = metro_and_bus
    text = C.criticality_sentence(C.criticality(day, d))
    assert text.startswith("The most critical metro section, M Parada M3–Parada M4, would leave")


def test_population_pieces_follow_the_finer_layer_and_census_totals():
    d = _districts([("A", 0, 0, 2000, 1000, 1000), ("B", 2000, 0, 4000, 1000, 400)])
    layer = gpd.GeoDataFrame({"population": [300.0, 100.0]}, geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
                             crs=CRS)
    pieces = A.population_pieces(d, layer=layer)
    # A: the layer's 300 and 100 scaled to the census 1,000 → 750 and 250; B keeps its polygon (no layer there)
    assert sorted(pieces.loc[pieces["district_id"] == "A", "population"]) == pytest.approx([250, 750])
    area = box(0, 0, 500, 1000).union(box(2000, 0, 3000, 1000))
    got = A.people_in(pieces, area)
    assert got["A"] == pytest.approx(375) and got["B"] == pytest.approx(200)      # half of 750; half of 400
    same = A.coverage_of_area(d, area, crs=CRS, layer=layer).set_index("district_id")["pop_covered"]
    assert same["A"] == pytest.approx(375) and same["B"] == pytest.approx(200)
    pts = gpd.GeoDataFrame({"population": [1.0, 3.0]}, geometry=gpd.points_from_xy([100, 1500], [500, 500]), crs=CRS)
    assert A.people_in(A.population_pieces(d, layer=pts), box(0, 0, 500, 1000))["A"] == pytest.approx(250)


def test_chapter_results_are_stored_and_recomputed_for_other_parameters(metro_and_bus, tmp_path, monkeypatch):
    """Chapter 09's stored results: the same as computing them, read back while nothing
    changes, computed again when a parameter or the city's files change."""
    import citybridge.artifacts as AR
    from citybridge import resilience_results as RR

    day, d = metro_and_bus
    files = {"key": "files-1"}
    monkeypatch.setattr(AR, "city_key", lambda city, date=None: files["key"])
    monkeypatch.setattr(AR, "cache_dir", lambda start=None: tmp_path / "artifacts")
    city = _City([])
    city.slug, city.profile.vehicle_capacity = "probe", {}
    found = [R.Disruption("M2–M3", segments=(("M", "M2", "M3"),))]
    runs = []
    real = RR.compute
    monkeypatch.setattr(RR, "compute", lambda *a, **k: runs.append(k) or real(*a, **k))
    first = RR.results(city, day, d, found, period="am_peak", n_corridors=1)
    again = RR.results(city, day, d, found, period="am_peak", n_corridors=1)
    assert len(runs) == 1
    direct = R.impact(day, d, found[0]).summary.set_index("scope").loc["city", "lose_frequent"]
    for res in (first, again):
        assert res.impacts[0].summary.set_index("scope").loc["city", "lose_frequent"] == pytest.approx(direct)
        assert res.ranking.iloc[0][["from_station", "to_station"]].tolist() == ["M3", "M4"]
    RR.results(city, day, d, found, period="am_peak", n_corridors=2)
    assert len(runs) == 2 and runs[-1]["n_corridors"] == 2
    files["key"] = "files-2"                      # a file of the city changed
    RR.results(city, day, d, found, period="am_peak", n_corridors=2)
    assert len(runs) == 3


# ------------------------------------------------------------------ sentences in every edition's language

def _impact_for_sentence():
    """A hand-made impact: 12 calls at 1 station closed, 3 trips removed and 4 cut, 1,234 of 56,789 vehicle-km,
    1,500 people lose all access and 2,501 (1.2 %) frequent transit."""
    from types import SimpleNamespace

    import pandas as pd

    service = pd.DataFrame({"mode": ["total"], "calls_closed": [12], "stations_closed": [1], "trips_removed": [3],
                            "trips_cut": [4], "vehicle_km_removed": [1234.4], "vehicle_km": [56789.0]})
    summary = pd.DataFrame({"scope": ["city"], "lose_access": [1500.4], "lose_frequent": [2500.6],
                            "share_lose_frequent": [0.0123]})
    closure = SimpleNamespace(disruption=SimpleNamespace(name="L1 closed"))
    return R.Impact(closure, service, summary, None, None, None)


@pytest.mark.parametrize("lang, expected", [
    ("en", "L1 closed: 12 calls at 1 station closed, 3 trips removed and 4 cut, 1,234 vehicle-km of 56,789 lost; 1,500 "
           "people lose all transit within walking distance and 2,501 (1.2% of the population) lose frequent transit."),
    ("es", "L1 closed: 12 detenciones cerradas en 1 estación, 3 viajes suprimidos y 4 cortados, 1.234 vehículos-km "
           "perdidos de 56.789; 1.500 personas pierden todo transporte público a distancia caminable y 2.501 (1,2% "
           "de la población) pierden transporte frecuente."),
    ("zh", "L1 closed：1 个车站的 12 次停靠被关闭，取消 3 个班次、截断 4 个班次，损失 56,789 车公里中的 1,234；1,500 "
           "人步行范围内失去全部公共交通，2,501 人（占人口的 1.2%）失去高频公共交通。"),
])
def test_impact_sentence_in_each_language(lang, expected):
    from citybridge import i18n

    with i18n.use_language(lang):
        assert R.impact_sentence(_impact_for_sentence()) == expected


@pytest.mark.parametrize("lang, expected", [
    ("en", "The most critical metro section, Line 4 A–B, would leave 1,000 people without frequent transit if it "
           "alone closed."),
    ("es", "El tramo de metro más crítico, Línea 4 A–B, dejaría a 1.000 personas sin transporte frecuente si solo él "
           "se cerrara."),
    ("zh", "最关键的地铁区间是4号线 A–B：若仅该区间关闭，将有 1,000 人失去高频公共交通。"),
])
def test_criticality_sentence_in_each_language(lang, expected):
    import pandas as pd

    from citybridge import i18n

    crit = pd.DataFrame({"kind": ["metro section"], "line": ["4"], "label": ["Line 4 A–B"],
                         "pop_lose_frequent": [1000.0]})
    with i18n.use_language(lang):
        assert C.criticality_sentence(crit) == expected


def test_criticality_sentence_says_when_bus_corridors_rank_first():
    import pandas as pd

    from citybridge import i18n

    crit = pd.DataFrame({"kind": ["metro section", "bus corridor"], "line": ["4", "T03"],
                         "label": ["Line 4 A–B", "bus T03 X – Y"], "pop_lose_frequent": [1000.0, 5000.0]})
    with i18n.use_language("es"):
        assert C.criticality_sentence(crit).startswith(
            "El tramo de metro más crítico, Línea 4 A–B, dejaría a 1.000 personas sin transporte frecuente si solo él "
            "se cerrara; el corredor de buses más crítico, recorrido T03 X – Y, a 5.000. Los corredores de buses "
            "quedan por encima de todos los tramos de metro:")


@pytest.mark.parametrize("lang, expected", [
    ("en", "scenario 'x', field 'foo': unknown field; use name, stops, routes, segments, polygon, window, note"),
    ("es", "escenario 'x', campo 'foo': campo desconocido; use name, stops, routes, segments, polygon, window, note"),
    ("zh", "情景“x”，字段“foo”：未知字段；请使用 name, stops, routes, segments, polygon, window, note"),
])
def test_scenario_errors_are_written_in_the_language_in_force(lang, expected):
    from citybridge import i18n

    with i18n.use_language(lang), pytest.raises(ScenarioError) as err:
        R.disruption({"name": "x", "foo": 1})
    assert str(err.value) == expected
