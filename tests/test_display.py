"""Display helpers: numbers as people write them, plain headers, small
multiples, maps that open on the urban area (hand-computed answers)."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, box

from citybridge import charts, citymap, maps
from citybridge import notebook as nb


def test_table_writes_counts_whole_shares_in_percent_and_plain_headers():
    df = pd.DataFrame({"name": ["A", "B"], "population": [7400741.0, 12.0], "share_covered": [0.4251, 1.0],
                       "dist_to_bike_m": [11799.24, 3.6], "speed_kmh": [18.26, 20.0], "routes": [39.0, float("nan")]})
    out = nb.table(df, caption="Coverage, am_peak", source="test").body
    assert "7,400,741<" in out and "7,400,741.0" not in out
    assert "42.5 %" in out and "100.0 %" in out
    assert "11,799<" in out and "11,799.2" not in out
    assert "18.3<" in out and ">20<" in out and "20.0" not in out
    assert ">39<" in out and "39.0" not in out and "–" in out
    for ident in ("share_covered", "dist_to_bike_m", "speed_kmh", "am_peak"):
        assert ident not in out
    assert "distance to the nearest bike station (m)" in out and "AM peak" in out
    assert 'class="cb-table-scroll"' in out


def test_mixed_unit_value_column_and_identifiers_in_cells():
    df = pd.DataFrame({"kpi": ["routes", "speed"], "value": [39.0, 18.26],
                       "note": ["no solid source for diesel_bus_litres_per_100km", "ok"]})
    out = nb.table(df, caption="KPIs", source="test").body
    assert ">39<" in out and ">18.3<" in out
    assert "diesel bus consumption (L/100 km)" in out and "diesel_bus_litres_per_100km" not in out


def test_plain_and_period_labels():
    assert nb.plain("electric_share moves; x.electric_share stays") == \
        "electric share of bus-km moves; x.electric_share stays"
    assert nb.plain("Hangzhou GTFS, service day 20260105; stop 20260105") == \
        "Hangzhou GTFS, service day 2026-01-05; stop 20260105"
    assert nb.period_label("am_peak") == "AM peak"
    assert nb.period_label("late_night") == "late night"
    assert nb.header("some_new_col") == "some new col"


def test_notes_without_notes_shows_no_list():
    day = type("D", (), {"notes": [], "date": "20260105", "is_frequency_based": False, "trips": [1, 2]})()
    out = nb.notes(day).body
    assert "<ul>" not in out and "nothing to report" not in out and "2026-01-05" in out


def test_small_multiples_give_each_kpi_its_own_axis():
    t = pd.DataFrame({"kpi": ["vehicle-km per inhabitant", "frequent network share", "speed"],
                      "unit": ["km", "% of routes", "km/h"], "Hangzhou": [2000.0, 0.2, 20.0],
                      "Santiago": [1500.0, 0.35, float("nan")]})
    fig = charts.kpi_small_multiples(t, ["Hangzhou", "Santiago"])
    assert len(fig.data) == 3
    axes = {tr.yaxis for tr in fig.data}
    assert len(axes) == 3                      # no two KPIs share an axis
    titles = [a.text.replace("<br>", " ") for a in fig.layout.annotations]
    assert any("(km/h)" in x for x in titles) and any("% of routes" in x for x in titles)
    assert fig.layout.showlegend is False
    assert fig.layout.yaxis.range[1] == pytest.approx(2500.0)   # room for the value label
    assert list(fig.data[1].text) == ["0.20 %", "0.35 %"]
    assert charts.value_text(7400741.0) == "7,400,741" and charts.value_text(11.26) == "11.3"


def test_urban_bounds_and_zoom():
    d = gpd.GeoDataFrame({"name": ["core", "edge", "far"], "area_class": ["urban", "urban", "rural"]},
                         geometry=[box(120.0, 30.0, 120.2, 30.2), box(120.2, 30.0, 120.3, 30.1),
                                   box(118.0, 29.0, 119.0, 30.0)], crs="EPSG:4326")
    assert citymap.urban_bounds(d) == pytest.approx((120.0, 30.0, 120.3, 30.2))
    assert citymap.urban_bounds(d.drop(columns="area_class")) is None
    # 0.3 degrees across 700 px: 360 * 700 / (256 * 0.3) = 3281 -> log2 = 11.68 -> 11
    assert citymap.zoom_for((120.0, 30.0, 120.3, 30.2)) == 11


def test_finished_map_has_landmarks_labels_and_view_buttons():
    d = gpd.GeoDataFrame({"name": ["Core <b>"], "area_class": ["urban"]},
                         geometry=[box(120.0, 30.0, 120.2, 30.2)], crs="EPSG:4326")
    lines = gpd.GeoDataFrame({"mode": ["metro"], "route_short_name": ["1"], "route_long_name": ["Line 1"]},
                             geometry=[LineString([(120.0, 30.0), (120.2, 30.2)])], crs="EPSG:4326")
    m = maps.base_map((120.0, 30.0, 120.2, 30.2))
    m._cb_context = citymap.MapContext(region=(118.0, 29.0, 120.3, 30.2), urban=(120.0, 30.0, 120.2, 30.2),
                                       districts=d, landmarks=lines)
    page = citymap.finish(m).get_root().render()
    assert "metro lines (landmark)" in page and "whole region" in page and "urban area" in page
    assert "cb-label" in page and "Core \\u003cb\\u003e" in page and "Core <b>" not in page


def test_served_core_is_where_the_urban_stops_are():
    d = gpd.GeoDataFrame({"name": ["core", "suburb", "far"], "area_class": ["urban", "urban", "rural"]},
                         geometry=[box(120.0, 30.0, 121.0, 31.0), box(121.0, 30.0, 122.0, 31.0),
                                   box(118.0, 29.0, 119.0, 30.0)], crs="EPSG:4326")
    # 100 stops evenly on 120.10..120.30 x 30.10..30.30, plus rural stops that must not count
    import numpy as np

    g = np.linspace(0.1, 0.3, 10)
    stops = pd.DataFrame([(30 + a, 120 + b) for a in g for b in g] + [(29.5, 118.5)] * 50,
                         columns=["stop_lat", "stop_lon"])
    core = citymap.served_core(d, stops)
    # each coordinate value holds 10 % of the urban stops, so the 5th and 95th
    # percentiles are 0.1 and 0.3; padded by 10 % of 0.2 = 0.02 each side
    assert core == pytest.approx((120.08, 30.08, 120.32, 30.32))
    assert citymap.served_core(d, stops.head(5)) == citymap.urban_bounds(d)   # too few stops
    assert citymap.served_core(d.drop(columns="area_class"), stops) is None
