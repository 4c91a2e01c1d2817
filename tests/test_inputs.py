"""Unit tests of citybridge.inputs: the one CRS policy, on hand-made files.

Squares are drawn in UTM zone 19S (EPSG:32719, Santiago's metric CRS) near
x = 350,000 m, y = 6,300,000 m, so their areas are known exactly.
"""
from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon, box

from citybridge import inputs
from citybridge import multimodal
from citybridge import network
from citybridge.city import load_city
from citybridge.errors import DataError
from gtfs_fixtures import timetable_tables, write_feed

UTM = "EPSG:32719"
X0, Y0 = 350_000.0, 6_300_000.0
POP_CSV = "id,pop,cls\nA,1000,urban\nB,50,rural\n"


def _squares(crs: str | None = UTM) -> gpd.GeoDataFrame:
    """Two 1 km × 1 km squares A and B side by side, in metres."""
    return gpd.GeoDataFrame({"id": ["A", "B"], "nombre": ["Centro", "Campo"]},
                            geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
                            crs=crs)


def _city(tmp_path, bfile: str, *, name_column: str = "nombre"):
    folder = tmp_path / "c"
    folder.mkdir(exist_ok=True)
    write_feed(folder / "gtfs.zip", timetable_tables())
    (folder / "pop.csv").write_text(POP_CSV, encoding="utf-8")
    (folder / "city.yml").write_text(
        f"name: C\ncrs: {UTM}\nboundaries:\n  file: {bfile}\n  id_column: id\n  name_column: {name_column}\n"
        "population:\n  file: pop.csv\n  id_column: id\n  population_column: pop\n  class_column: cls\n",
        encoding="utf-8")
    return load_city(folder)


def _geojson_without_crs(path, coords_per_feature: list[list[tuple[float, float]]]) -> None:
    feats = [{"type": "Feature", "properties": {"id": i, "nombre": n},
              "geometry": {"type": "Polygon", "coordinates": [[list(c) for c in ring]]}}
             for i, n, ring in zip(["A", "B"], ["Centro", "Campo"], coords_per_feature)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")


def _no_crs_gpkg(path) -> None:
    with pytest.warns(UserWarning):  # pyogrio warns that the file will have no projection
        _squares(None).to_file(path, driver="GPKG")


# --------------------------------------------------------------------------
# the policy, rule by rule
# --------------------------------------------------------------------------

def test_geojson_without_crs_is_wgs84(tmp_path):
    p = tmp_path / "b.geojson"
    _geojson_without_crs(p, [[(-70.7, -33.5), (-70.6, -33.5), (-70.6, -33.4), (-70.7, -33.5)]] * 2)
    g = inputs.read_geo(p, what="boundaries")
    assert g.crs == "EPSG:4326"
    assert g.total_bounds.tolist() == [-70.7, -33.5, -70.6, -33.4]


def test_other_file_without_crs_is_refused(tmp_path):
    p = tmp_path / "b.gpkg"
    _no_crs_gpkg(p)
    with pytest.raises(DataError, match=r"b\.gpkg: the boundaries declare no coordinate reference system .*"
                                        r"save the file again with its CRS"):
        inputs.read_geo(p, what="boundaries")


def test_shapefile_without_prj_is_refused_by_every_reader(tmp_path):
    (tmp_path / "c").mkdir()
    with pytest.warns(UserWarning):
        _squares(None).to_file(tmp_path / "c" / "b.shp")
    assert not (tmp_path / "c" / "b.prj").exists()
    city = _city(tmp_path, "b.shp")
    for reader in (inputs.districts, network.boundaries):  # access, chapter 03; map outlines, chapter 01
        with pytest.raises(DataError, match=r"b\.shp: the boundaries declare no coordinate reference system"):
            reader(city)


def test_metres_in_a_geojson_without_crs_are_refused(tmp_path):
    """A GeoJSON holding UTM metres and no CRS would be read as degrees: refused, not drawn at sea."""
    p = tmp_path / "b.geojson"
    _geojson_without_crs(p, [list(_squares().geometry.iloc[i].exterior.coords) for i in (0, 1)])
    with pytest.raises(DataError, match=r"b\.geojson: .*hold coordinates up to 352,000, 6,301,000, which look "
                                        r"like metres"):
        inputs.read_geo(p, what="boundaries")


def test_projected_file_keeps_its_crs_and_areas(tmp_path):
    (tmp_path / "c").mkdir()
    _squares().to_file(tmp_path / "c" / "b.gpkg", driver="GPKG")
    d = inputs.districts(_city(tmp_path, "b.gpkg"))
    assert d.crs == UTM
    assert d.area.round(6).tolist() == [1_000_000.0, 1_000_000.0]
    assert d["population"].tolist() == [1000.0, 50.0] and d["area_class"].tolist() == ["urban", "rural"]


def test_degrees_are_converted_to_the_city_metric_crs(tmp_path):
    """A WGS-84 GeoJSON is reprojected to city.yml's crs before anything is measured."""
    (tmp_path / "c").mkdir()
    _squares().to_crs("EPSG:4326").to_file(tmp_path / "c" / "b.geojson", driver="GeoJSON")
    d = inputs.districts(_city(tmp_path, "b.geojson"))
    assert d.crs == UTM
    # a square reprojected to degrees and back keeps its area to well under a square metre
    assert d.area.tolist() == pytest.approx([1_000_000.0, 1_000_000.0], abs=1.0)


def test_metric_crs_refuses_degrees_and_unknown_codes():
    with pytest.raises(DataError, match=r"crs 'EPSG:4326' .*does not measure in metres"):
        inputs.metric_crs("EPSG:4326")
    with pytest.raises(DataError, match=r"crs 'EPSG:999999' is not a known"):
        inputs.metric_crs("EPSG:999999")
    with pytest.raises(DataError, match="has no CRS"):
        inputs.to_metric(_squares(None), UTM)


# --------------------------------------------------------------------------
# geometry and columns
# --------------------------------------------------------------------------

def test_feature_without_geometry_names_row(tmp_path):
    (tmp_path / "c").mkdir()
    g = _squares()
    g.loc[1, "geometry"] = None
    g.to_file(tmp_path / "c" / "b.gpkg", driver="GPKG")
    with pytest.raises(DataError, match=r"b\.gpkg, column 'geometry', row 2: 1 feature\(s\) of the boundaries are "
                                        r"unusable: the first has no geometry"):
        inputs.districts(_city(tmp_path, "b.gpkg"))


def test_point_feature_is_not_a_district(tmp_path):
    (tmp_path / "c").mkdir()
    g = _squares()
    g.loc[0, "geometry"] = Point(X0, Y0)
    g.to_file(tmp_path / "c" / "b.gpkg", driver="GPKG")
    with pytest.raises(DataError, match=r"column 'geometry', row 1: .*is not a polygon"):
        inputs.read_boundaries(_city(tmp_path, "b.gpkg"))


def test_self_intersecting_polygon_is_repaired(tmp_path):
    """A bow-tie crossing at the square's centre is two triangles of base 1,000 m (the square's left and
    right sides) and height 500 m: made valid, it keeps 2 × ½ × 1000 × 500 = 500,000 m², not dropped."""
    (tmp_path / "c").mkdir()
    g = _squares()
    g.loc[0, "geometry"] = Polygon([(X0, Y0), (X0 + 1000, Y0 + 1000), (X0 + 1000, Y0), (X0, Y0 + 1000)])
    assert not g.geometry.iloc[0].is_valid
    g.to_file(tmp_path / "c" / "b.gpkg", driver="GPKG")
    problems = inputs.geometry_problems(g.geometry)
    assert problems["invalid"].tolist() == [True, False] and not problems["empty"].any()
    d = inputs.districts(_city(tmp_path, "b.gpkg"))
    assert d.geometry.is_valid.all()
    assert d.area.round(6).tolist() == [500_000.0, 1_000_000.0]


def test_wrong_name_column_names_file_column_and_key(tmp_path):
    (tmp_path / "c").mkdir()
    _squares().to_file(tmp_path / "c" / "b.gpkg", driver="GPKG")
    city = _city(tmp_path, "b.gpkg", name_column="NOM_COMUNA")
    with pytest.raises(DataError, match=r"b\.gpkg, column 'NOM_COMUNA': column is missing \(city.yml "
                                        r"'boundaries.name_column' names it\); columns present: id, nombre"):
        network.boundaries(city)


def test_outlines_are_wgs84_with_name(tmp_path):
    (tmp_path / "c").mkdir()
    _squares().to_file(tmp_path / "c" / "b.gpkg", driver="GPKG")
    o = inputs.boundary_outlines(_city(tmp_path, "b.gpkg"))
    assert o.crs == "EPSG:4326" and list(o.columns) == ["name", "geometry"]
    assert o["name"].tolist() == ["Centro", "Campo"]


def test_read_table_strips_bom_and_spaces(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("\ufeff id , pop\nA , 10\n".encode("utf-8"))
    t = inputs.read_table(p)
    assert list(t.columns) == ["id", "pop"] and t.iloc[0].tolist() == ["A", "10"]


def test_gbfs_reader_is_the_one_in_inputs():
    assert multimodal.read_gbfs is inputs.read_gbfs
