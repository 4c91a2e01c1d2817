"""GBFS parsing, 300 m proximity on both sides of the threshold, water buses."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from citybridge import feed as F
from citybridge import multimodal as mm
from citybridge.errors import DataError
from citybridge.network import served_stops
from gtfs_fixtures import timetable_tables, write_feed

# GBFS v2.3 station_information as published (trimmed), one optional field absent
STATION_INFO = {
    "last_updated": 1767225600, "ttl": 60, "version": "2.3",
    "data": {"stations": [
        {"station_id": "b1", "name": "Plaza Uno", "lat": -33.4520, "lon": -70.70, "capacity": 12,
         "rental_methods": ["KEY", "APPLEPAY"], "is_virtual_station": False},
        {"station_id": "b2", "name": "Lejos", "lat": -33.45, "lon": -70.66, "short_name": "L"},
    ]},
}
GBFS = {"last_updated": 1767225600, "ttl": 60, "version": "2.3", "data": {"en": {"feeds": [
    {"name": "system_information", "url": "https://example.org/gbfs/system_information.json"},
    {"name": "station_information", "url": "https://example.org/gbfs/station_information.json"}]}}}


@pytest.fixture()
def gbfs_dir(tmp_path):
    d = tmp_path / "gbfs"
    d.mkdir()
    (d / "station_information.json").write_text(json.dumps(STATION_INFO))
    (d / "gbfs.json").write_text(json.dumps(GBFS))
    return d


def test_read_gbfs_folder_file_and_autodiscovery(gbfs_dir):
    a = mm.read_gbfs(gbfs_dir)
    b = mm.read_gbfs(gbfs_dir / "gbfs.json")
    c = mm.read_gbfs(gbfs_dir / "station_information.json")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    assert list(a.columns) == ["station_id", "name", "lat", "lon", "capacity"]
    assert a.loc[0, "capacity"] == 12 and np.isnan(a.loc[1, "capacity"])


def test_gbfs_errors_name_the_field(tmp_path):
    bad = dict(STATION_INFO, data={"stations": [{"station_id": "x", "name": "no coords"}]})
    p = tmp_path / "station_information.json"
    p.write_text(json.dumps(bad))
    with pytest.raises(DataError, match=r"data.stations\[0\].lat"):
        mm.read_gbfs(p)
    p.write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        mm.read_gbfs(p)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no station_information.json"):
        mm.read_gbfs(tmp_path / "empty")


def test_proximity_both_sides_of_300_m():
    # stop at the origin; one bike station 290 m north, one 310 m north
    # (1 degree of latitude is about 110,900 m at 33.45 S in UTM 19S)
    stops = pd.DataFrame({"stop_id": ["s"], "stop_name": ["S"], "stop_lat": [-33.45], "stop_lon": [-70.70],
                          "main_mode": ["bus"]})
    from pyproj import Transformer
    tr = Transformer.from_crs("EPSG:32719", "EPSG:4326", always_xy=True)
    x0, y0 = Transformer.from_crs("EPSG:4326", "EPSG:32719", always_xy=True).transform(-70.70, -33.45)
    lon1, lat1 = tr.transform(x0, y0 + 290)
    lon2, lat2 = tr.transform(x0, y0 + 310)
    stations = pd.DataFrame({"station_id": ["in", "out"], "name": ["a", "b"], "lat": [lat1, lat2],
                             "lon": [lon1, lon2], "capacity": [10, 10]})
    s_out, p_out = mm.bike_links(stations, stops, crs="EPSG:32719")
    assert s_out["dist_to_stop_m"].round(1).tolist() == [290.0, 310.0]
    assert s_out["near_transit"].tolist() == [True, False]
    assert p_out["has_bike"].tolist() == [True]
    summ = mm.bike_summary(s_out, p_out).set_index("indicator")["value"]
    assert summ["bike stations within 300 m of a transit stop"] == 50.0
    from citybridge import i18n
    shown = mm.bike_summary_table(s_out, p_out)
    with i18n.use_language("es"):
        assert [str(x) for x in shown["indicator"]][1:4] == [
            "estaciones de bicicletas a menos de 300 m de un paradero o estación de transporte público",
            "paraderos y estaciones de transporte público con una estación de bicicletas a menos de 300 m",
            "paraderos o estaciones de bus con una estación de bicicletas a menos de 300 m"]
    with i18n.use_language("zh"):
        assert str(shown["indicator"][1]) == "距公共交通站点 300 米以内的自行车站点"


def test_crs_mismatch_is_explicit():
    import geopandas as gpd
    a = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0], [0]), crs="EPSG:32719")
    b = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0], [0]), crs="EPSG:3857")
    with pytest.raises(ValueError, match="CRS mismatch"):
        mm.nearest_distance(a, b)


def test_city_without_ferries_gets_empty_tables(tmp_path):
    day = F.prepare_day(F.read_feed(write_feed(tmp_path / "f.zip", timetable_tables())), "20260107",
                        crs="EPSG:32719")
    assert mm.ferry_routes(day).empty
    assert mm.ferry_transfers(day, served_stops(day)).empty


def test_ferry_routes_and_transfers(tmp_path):
    t = timetable_tables()
    t["routes.txt"] += "W1,A,W1,Water one,4\n"
    t["trips.txt"] += "W1,WK,WA,0\nW1,WK,WB,0\n"
    t["stop_times.txt"] += ("WA,10:00:00,10:00:00,S1,1\nWA,10:20:00,10:20:00,S4,2\n"
                            "WB,10:40:00,10:40:00,S1,1\nWB,11:00:00,11:00:00,S4,2\n")
    day = F.prepare_day(F.read_feed(write_feed(tmp_path / "w.zip", t)), "20260107", crs="EPSG:32719")
    fr = mm.ferry_routes(day)
    assert fr.loc[0, "trips"] == 2 and fr.loc[0, "piers"] == 2 and fr.loc[0, "mean_headway_min"] == 40
    tr = mm.ferry_transfers(day, served_stops(day))
    assert len(tr) == 2 and tr["to_bus"].all() and tr["to_metro"].all()
