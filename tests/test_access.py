"""Unit tests of citybridge.access: hand-computed coverage on square districts."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from citybridge import access as A
from citybridge import feed as F
from citybridge.city import load_city
from citybridge.errors import DataError
from gtfs_fixtures import AGENCY, CALENDAR, timetable_tables, write_feed

DATE = "20260107"
CRS = "EPSG:32719"
# buffers use 16 segments per quarter circle: the polygon's area is 0.16 % under π·r²
POLY_TOL = 2.5e-3


def one_stop_tables(route_type: int = 3, trips: int = 1, parent: bool = False) -> dict[str, str]:
    """One route from stop S1 (at -33.45, -70.70) to FAR, 20 km east, with
    ``trips`` departures between 07:00 and 09:00. With ``parent``, S1 is two
    platforms P1/P2 of station ST (P2 100 m west, the station at P1's place)."""
    if parent:
        stops = ("stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
                 "ST,Estación,-33.45,-70.70,1,\n"
                 "P1,Andén 1,-33.45,-70.70,0,ST\n"
                 "P2,Andén 2,-33.45,-70.701075,0,ST\n"
                 "FAR,Lejos,-33.45,-70.485,0,\n")
        first = ["P1", "P2"]
    else:
        stops = "stop_id,stop_name,stop_lat,stop_lon\nS1,Uno,-33.45,-70.70\nFAR,Lejos,-33.45,-70.485\n"
        first = ["S1"]
    routes = f"route_id,agency_id,route_short_name,route_long_name,route_type\nR,A,1,Uno,{route_type}\n"
    tr = ["route_id,service_id,trip_id,direction_id"]
    st = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    for k in range(trips):
        m = 420 + k * (120 // trips)
        tid = f"T{k}"
        tr.append(f"R,WK,{tid},{k % 2 if parent else 0}")
        t0, t1 = f"{m // 60:02d}:{m % 60:02d}:00", f"{(m + 30) // 60:02d}:{(m + 30) % 60:02d}:00"
        st.append(f"{tid},{t0},{t0},{first[k % len(first)]},1")
        st.append(f"{tid},{t1},{t1},FAR,2")
    return {"agency.txt": AGENCY, "stops.txt": stops, "routes.txt": routes,
            "trips.txt": "\n".join(tr) + "\n", "stop_times.txt": "\n".join(st) + "\n",
            "calendar.txt": CALENDAR}


def _day(tmp_path, tables, name="a.zip"):
    return F.prepare_day(F.read_feed(write_feed(tmp_path / name, tables)), DATE, crs=CRS)


def _square(day, stop_id: str, side_m: float, dx: float = 0.0) -> gpd.GeoDataFrame:
    x, y = day.stops_xy().loc[stop_id, ["x", "y"]]
    h = side_m / 2
    return gpd.GeoDataFrame({"district_id": ["D1"], "name": ["Cuadrado"], "population": [16000.0],
                             "area_class": ["urban"]},
                            geometry=[box(x + dx - h, y - h, x + dx + h, y + h)], crs=CRS)


@pytest.mark.parametrize("route_type,radius", [(3, 500), (1, 1000)])
def test_coverage_of_a_square_with_one_stop_follows_circle_area(tmp_path, route_type, radius):
    day = _day(tmp_path, one_stop_tables(route_type))
    d = _square(day, "S1", 4000)
    cov = A.coverage(day, d).iloc[0]
    expected_share = math.pi * radius**2 / 4000**2
    assert cov["share_covered"] == pytest.approx(expected_share, rel=POLY_TOL)
    assert cov["pop_covered"] == pytest.approx(expected_share * 16000, rel=POLY_TOL)
    assert cov["population"] == 16000 and cov["area_km2"] == pytest.approx(16.0)
    assert cov["distance"] == "straight line"
    assert cov["population_assumption"] == "areal weighting (even spread over each polygon)"
    assert f"{radius} m" in cov["catchment"] or route_type == 3


def test_catchments_classes_and_areas(tmp_path):
    day = _day(tmp_path, one_stop_tables(1))
    cat = A.catchments(day).set_index("capacity")
    assert cat.crs == CRS
    assert cat.loc["high", "stations"] == 2 and cat.loc["low", "stations"] == 0   # S1 and FAR
    assert cat.loc["high", "area_km2"] == pytest.approx(2 * math.pi, rel=POLY_TOL)
    assert cat.loc["low", "geometry"].is_empty


def test_min_trips_per_hour_filters_stops(tmp_path):
    day = _day(tmp_path, one_stop_tables(3, trips=4))   # 4 departures in 07:00–09:00 = 2/h
    d = _square(day, "S1", 4000)
    assert A.coverage(day, d, min_trips_per_hour=2)["share_covered"].iloc[0] > 0
    cov = A.coverage(day, d, min_trips_per_hour=3)
    assert cov["share_covered"].iloc[0] == 0
    assert "at least 3 departures/h" in cov["catchment"].iloc[0]


def test_parent_station_is_counted_once(tmp_path):
    day = _day(tmp_path, one_stop_tables(3, trips=12, parent=True))
    st = A.stations(day).set_index("station_id")
    assert sorted(st.index) == ["FAR", "ST"]
    assert st.loc["ST", "stops"] == 2 and st.loc["ST", "station_name"] == "Estación"
    # 12 trips in 2 h, alternately from P1 (direction 0) and P2 (direction 1): 6 one way
    assert st.loc["ST", "departures"] == 12 and st.loc["ST", "departures_one_way"] == 6
    assert st.loc["ST", "mean_headway_min"] == pytest.approx(20.0)
    x, y = day.stops_xy().loc["ST", ["x", "y"]]
    assert st.loc["ST", "x"] == pytest.approx(x) and st.loc["ST", "y"] == pytest.approx(y)
    # one circle at the station, not two overlapping ones around the platforms
    d = _square(day, "ST", 4000)
    share = A.coverage(day, d)["share_covered"].iloc[0]
    assert share == pytest.approx(math.pi * 500**2 / 4000**2, rel=POLY_TOL)


def test_frequent_coverage_uses_headway(tmp_path):
    day = _day(tmp_path, one_stop_tables(3, trips=12))   # every 10 min from 07:00 to 09:00
    d = _square(day, "S1", 4000)
    fc = A.frequent_coverage(day, d).iloc[0]
    assert fc["share_covered"] == pytest.approx(math.pi * 500**2 / 4000**2, rel=POLY_TOL)
    assert "10 min or better in am_peak (07:00–09:00)" in fc["catchment"]
    assert A.frequent_coverage(day, d, max_headway_min=9)["share_covered"].iloc[0] == 0
    assert A.frequent_coverage(day, d, period="midday")["share_covered"].iloc[0] == 0


def test_finer_population_layers(tmp_path):
    day = _day(tmp_path, one_stop_tables(3))
    d = _square(day, "S1", 4000)
    x, y = day.stops_xy().loc["S1", ["x", "y"]]
    # points: 300 people at the stop, 700 people 1.5 km away (both in the district)
    pts = gpd.GeoDataFrame({"population": [300, 700]}, geometry=[Point(x, y), Point(x + 1500, y)], crs=CRS)
    pts.attrs["name"] = "grid.gpkg"
    cov = A.coverage(day, d, layer=pts).iloc[0]
    assert cov["share_covered"] == pytest.approx(0.3)
    assert cov["pop_covered"] == pytest.approx(0.3 * 16000)   # scaled to the census total
    assert cov["population_assumption"].startswith("finer population layer (grid.gpkg)")
    # polygons: 400 people in a 200 m square at the stop, 600 in the rest of the district
    small = box(x - 100, y - 100, x + 100, y + 100)
    polys = gpd.GeoDataFrame({"population": [400, 600]},
                             geometry=[small, d.geometry.iloc[0].difference(small)], crs=CRS)
    cov = A.coverage(day, d, layer=polys).iloc[0]
    circle = math.pi * 500**2
    expected = (400 + 600 * (circle - 200**2) / (4000**2 - 200**2)) / 1000
    assert cov["share_covered"] == pytest.approx(expected, rel=POLY_TOL)
    # a district the layer does not reach falls back to areal weighting
    far = _square(day, "S1", 4000, dx=10000).assign(district_id="D2")
    both = pd.concat([d, far], ignore_index=True)
    cov = A.coverage(day, both, layer=pts).set_index("district_id")
    assert cov.loc["D2", "population_assumption"] == A.AREAL_WEIGHTING


def test_urban_rural_summary_and_sentence():
    cov = pd.DataFrame({
        "district_id": ["a", "b", "c"], "name": ["A", "B", "C"],
        "area_class": ["urban", "rural", "urban"], "population": [600.0, 100.0, 400.0],
        "pop_covered": [550.0, 23.0, 320.0], "distance": "straight line",
        "population_assumption": A.AREAL_WEIGHTING})
    cov["share_covered"] = cov["pop_covered"] / cov["population"]
    s = A.summarise(cov).set_index("scope")
    assert list(s.index) == ["city", "urban", "rural"]
    assert s.loc["urban", "share_covered"] == pytest.approx(0.87)
    assert s.loc["rural", "share_covered"] == pytest.approx(0.23)
    assert s.loc["city", "share_covered"] == pytest.approx(893 / 1100)
    assert s.loc["city", "districts"] == 3 and s.loc["city", "distance"] == "straight line"
    assert A.rural_gap_sentence(A.summarise(cov), district_word="comunas") == (
        "In rural comunas 23% of people live within walking distance of transit, "
        "against 87% in urban ones: a gap of 64 points.")
    only_urban = A.summarise(cov[cov["area_class"] == "urban"])
    assert A.rural_gap_sentence(only_urban).startswith("All districts are urban: 87%")
    ls = A.least_served(cov, n=2)
    assert list(ls["district_id"]) == ["b", "c"] and ls["pop_uncovered"].iloc[0] == 77


def test_summary_from_geometry_end_to_end(tmp_path):
    day = _day(tmp_path, one_stop_tables(3))
    urban = _square(day, "S1", 2000)
    rural = _square(day, "S1", 2000, dx=6000).assign(district_id="R", name="Campo", area_class="rural",
                                                     population=1000.0)
    cov = A.coverage(day, pd.concat([urban, rural], ignore_index=True))
    s = A.summarise(cov).set_index("scope")
    assert s.loc["rural", "share_covered"] == 0
    assert s.loc["urban", "share_covered"] == pytest.approx(math.pi / 16, rel=POLY_TOL)   # 0.196
    assert A.rural_gap_sentence(A.summarise(cov)).endswith(
        "against 20% in urban ones: a gap of 20 points.")


def test_crs_mismatch_is_refused(tmp_path):
    day = _day(tmp_path, one_stop_tables(3))
    d = _square(day, "S1", 4000).to_crs("EPSG:4326")
    with pytest.raises(DataError, match=r"CRS mismatch .*EPSG:4326.*EPSG:32719.*to_crs"):
        A.coverage(day, d)
    with pytest.raises(DataError, match="no CRS"):
        A.coverage(day, d.set_crs(None, allow_override=True))


def test_missing_district_column_is_named(tmp_path):
    day = _day(tmp_path, one_stop_tables(3))
    d = _square(day, "S1", 4000).drop(columns="population")
    with pytest.raises(DataError, match="column 'population'"):
        A.coverage(day, d)
    d = _square(day, "S1", 4000).assign(population=[np.nan])
    with pytest.raises(DataError, match="district 'D1' has no valid population"):
        A.coverage(day, d)


# --------------------------------------------------------------------------
# loading districts from a city folder
# --------------------------------------------------------------------------

def _city(tmp_path, *, pop_csv: str, boundaries: bool = True, yml_extra: str = ""):
    folder = tmp_path / "testville"
    folder.mkdir()
    write_feed(folder / "gtfs.zip", timetable_tables())
    yml = "name: Testville\ncrs: EPSG:32719\n"
    if boundaries:
        g = gpd.GeoDataFrame({"codigo": ["13101", "13102"], "nombre": ["Centro", "Campo"]},
                             geometry=[box(-70.71, -33.46, -70.69, -33.44),
                                       box(-70.69, -33.46, -70.67, -33.44)], crs="EPSG:4326")
        g.to_file(folder / "comunas.geojson", driver="GeoJSON")
        yml += ("boundaries:\n  file: comunas.geojson\n  id_column: codigo\n  name_column: nombre\n"
                "population:\n  file: poblacion.csv\n  id_column: codigo_comuna\n"
                "  population_column: poblacion\n  class_column: clase\n")
    (folder / "poblacion.csv").write_text(pop_csv, encoding="utf-8")
    (folder / "city.yml").write_text(yml + yml_extra, encoding="utf-8")
    return load_city(folder)


def test_districts_from_city_files(tmp_path):
    city = _city(tmp_path, pop_csv="codigo_comuna,poblacion,clase\n13101,1000,urban\n13102,50,Rural\n")
    d = A.districts(city)
    assert d.crs == CRS
    assert list(d.columns) == ["district_id", "name", "population", "area_class", "geometry"]
    assert list(d["district_id"]) == ["13101", "13102"]
    assert list(d["area_class"]) == ["urban", "rural"]
    assert list(d["population"]) == [1000.0, 50.0]


def test_districts_missing_column_names_file_and_column(tmp_path):
    city = _city(tmp_path, pop_csv="codigo_comuna,habitantes,clase\n13101,1000,urban\n13102,50,rural\n")
    with pytest.raises(DataError, match=r"poblacion.csv, column 'poblacion': column is missing"):
        A.districts(city)


def test_districts_without_population_row(tmp_path):
    city = _city(tmp_path, pop_csv="codigo_comuna,poblacion,clase\n13101,1000,urban\n")
    with pytest.raises(DataError, match=r"district '13102' \(Campo.*has no population"):
        A.districts(city)


def test_districts_bad_class(tmp_path):
    city = _city(tmp_path, pop_csv="codigo_comuna,poblacion,clase\n13101,1000,urban\n13102,5,periurban\n")
    with pytest.raises(DataError, match=r"column 'clase'.*'periurban'; write urban or rural"):
        A.districts(city)


def test_city_without_boundaries_says_what_to_add(tmp_path):
    city = _city(tmp_path, pop_csv="x\n", boundaries=False)
    with pytest.raises(DataError, match=r"no 'boundaries' entry.*unlock the access chapter"):
        A.districts(city)
