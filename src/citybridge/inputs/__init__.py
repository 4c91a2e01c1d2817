"""A city's optional inputs beside its GTFS feed, read with one CRS policy.

- :mod:`.geo`: the CRS policy and the readers of geographic files and tables
  (:func:`read_geo`, :func:`to_metric`, :func:`read_table`);
- :mod:`.districts`: district boundaries and population (:func:`districts`,
  :func:`population_layer`, :func:`boundary_outlines`);
- :mod:`.gbfs`: bike-share stations (:func:`read_gbfs`).

The realtime inputs (vehicle positions, AVL) are read by
:mod:`citybridge.realtime` and :mod:`citybridge.avl`: they are points with
WGS-84 coordinates by their specification, so the policy has nothing to
decide for them.
"""
from .districts import (AREA_CLASSES, DISTRICT_COLUMNS, UNCLASSIFIED, boundary_outlines, districts,
                        population_layer, read_boundaries)
from .gbfs import read_gbfs
from .geo import (GEOJSON_SUFFIXES, POLYGONS, WGS84, geometry_problems, metric_crs, polygons, read_geo,
                  read_table, require_column, to_metric, with_crs_policy)

__all__ = ["AREA_CLASSES", "DISTRICT_COLUMNS", "GEOJSON_SUFFIXES", "POLYGONS", "UNCLASSIFIED", "WGS84",
           "boundary_outlines", "districts", "geometry_problems", "metric_crs", "polygons", "population_layer",
           "read_boundaries", "read_gbfs", "read_geo", "read_table", "require_column", "to_metric",
           "with_crs_policy"]
