"""Network summary and route lines on the fixture feed; boundaries reading."""
from __future__ import annotations

import pytest

from citybridge import feed as F
from citybridge import network
from citybridge.city import load_city
from citybridge.errors import DataError
from gtfs_fixtures import timetable_tables, write_feed


def _day(tmp_path):
    return F.prepare_day(F.read_feed(write_feed(tmp_path / "n.zip", timetable_tables())), "20260107",
                         crs="EPSG:32719")


def test_summary_counts_routes_stations_and_route_km(tmp_path):
    s = network.network_summary(_day(tmp_path)).set_index("mode")
    assert s.loc["bus", "routes"] == 1 and s.loc["metro", "routes"] == 1
    assert s.loc["total", "stations"] == 4
    # each route runs S1..S4, three 1 km links
    assert s.loc["bus", "route_km"] == pytest.approx(3.0, abs=0.05)
    assert s.loc["total", "route_km"] == pytest.approx(6.0, abs=0.1)
    assert s.loc["bus", "trips"] == 4


def test_route_lines_are_drawn_stop_to_stop(tmp_path):
    lines = network.route_lines(_day(tmp_path))
    assert set(lines["route_id"]) == {"B1", "M1"}
    assert len(lines.geometry.iloc[0].coords) == 4
    assert lines.crs.to_epsg() == 4326


def test_boundaries_missing_column_is_named(tmp_path):
    d = tmp_path / "c"
    d.mkdir()
    (d / "b.geojson").write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                                 '"properties": {"NOMBRE": "x"}, "geometry": {"type": "Point", "coordinates": [0, 0]}}]}')
    (d / "city.yml").write_text("name: C\ncrs: EPSG:32719\nboundaries:\n  file: b.geojson\n  name_column: comuna\n")
    write_feed(d / "gtfs.zip", timetable_tables())
    with pytest.raises(DataError, match=r"b.geojson, column 'comuna': column is missing .*columns present: NOMBRE"):
        network.boundaries(load_city(d))
    (d / "city.yml").write_text("name: C\ncrs: EPSG:32719\n")
    assert network.boundaries(load_city(d)) is None
