"""District boundaries and population of a city, read from its folder.

The files are named in ``city.yml`` (``boundaries``, ``population`` and
``population.layer``) and read with the CRS policy of
:mod:`citybridge.inputs.geo`: a GeoJSON without CRS is WGS-84, any other
file without CRS is refused, and every layer is reprojected to the city's
metric CRS before anything is measured.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import DataError, where
from ..i18n import N_
from ..texts import tr
from .geo import WGS84, polygons, read_geo, read_table, require_column, to_metric

#: Columns of :func:`districts`, the input of the access indicators.
DISTRICT_COLUMNS = ["district_id", "name", "population", "area_class"]
#: The two area classes of SDG 11.2.1's urban/rural split.
AREA_CLASSES = ("urban", "rural")
#: Area class of every district when the profile names no ``class_column``.
UNCLASSIFIED = "unclassified"


def read_boundaries(city) -> gpd.GeoDataFrame | None:
    """The boundaries file named in ``city.yml``, checked, or None when there is none.

    Returns
    -------
    GeoDataFrame or None
        The file's columns and polygons in the CRS the file declares
        (WGS-84 for a GeoJSON without CRS); invalid polygons repaired.

    Raises
    ------
    DataError
        The file is missing or unreadable, declares no CRS (other than
        GeoJSON), lacks the ``name_column`` of city.yml, or has a feature
        without a polygon (file, column and row named).
    """
    path = city.optional_path("boundaries")
    if path is None:
        return None
    if not path.exists():
        raise DataError(f"{path}: " + tr("file not found; add it or correct 'boundaries' in city.yml"))
    b = read_geo(path, what="boundaries", hint=N_("give a GeoJSON or GeoPackage of polygons"))
    require_column(b, city.profile.boundaries.name_column, path, "boundaries.name_column")
    return polygons(b, path, what="boundaries")


def boundary_outlines(city) -> gpd.GeoDataFrame | None:
    """The city's district outlines for drawing, or None when it has none.

    Returns
    -------
    GeoDataFrame (EPSG:4326) or None
        ``name`` (from ``boundaries.name_column``) and ``geometry``.

    Raises
    ------
    DataError
        As :func:`read_boundaries`.
    """
    b = read_boundaries(city)
    if b is None:
        return None
    return b.rename(columns={city.profile.boundaries.name_column: "name"})[["name", "geometry"]].to_crs(WGS84)


def _no_entry(city, kind: str) -> DataError:
    yml = city.folder / "city.yml"
    if kind == "boundaries":
        return DataError(f"{yml}: " + tr("no 'boundaries' entry. Add a district boundaries file (GeoJSON with an "
                                         "id and a name per polygon, e.g. boundaries.geojson) and a 'boundaries: "
                                         "{file: ..., id_column: ..., name_column: ...}' entry to unlock the "
                                         "access chapter (SDG 11.2.1 and frequent-transit coverage by district, "
                                         "urban and rural)"))
    return DataError(f"{yml}: " + tr("no 'population' entry. Add a population table (CSV with one row per "
                                     "district: id, population, area_class urban/rural) and a 'population: "
                                     "{file: ..., id_column: ..., population_column: ...}' entry to unlock the "
                                     "access chapter (people within reach of transit)"))


def _area_classes(city, ids: pd.Series, pop: pd.DataFrame, b: gpd.GeoDataFrame) -> pd.Series:
    """Each district's area class: from the population table, else from the boundaries."""
    ps = city.profile.population
    if ps.class_column is None:
        return pd.Series(UNCLASSIFIED, index=b.index)
    if ps.class_column in pop.columns:
        cls, src = ids.map(pop[ps.class_column]), city.optional_path("population")
    elif ps.class_column in b.columns:
        cls, src = b[ps.class_column].astype(str), city.optional_path("boundaries")
    else:
        require_column(pop, ps.class_column, city.optional_path("population"), "population.class_column")
    cls = cls.fillna("").astype(str).str.strip().str.lower()
    bad = ~cls.isin(AREA_CLASSES)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{where(src, ps.class_column)}: " + tr("district '{district}' has area class '{value}'; "
                                                                "write urban or rural", district=str(ids.iloc[i]),
                                                                value=str(cls.iloc[i])))
    return cls


def districts(city) -> gpd.GeoDataFrame:
    """Districts with their population and urban/rural class, from a city's files.

    Reads ``city.optional_path("boundaries")`` (GeoJSON or any OGR file,
    columns named by ``boundaries.id_column`` and ``name_column``) and
    ``city.optional_path("population")`` (CSV or OGR, joined on
    ``population.id_column``; ``population_column``; ``class_column`` with
    ``urban``/``rural``, looked up in the population file and then in the
    boundaries). Ids are compared as text. Districts are reprojected to
    ``city.profile.crs``, the CRS of :func:`citybridge.feed.feed_day`.

    Returns
    -------
    GeoDataFrame
        One row per boundary polygon, in ``city.profile.crs`` (metres):

        - ``district_id`` (str), ``name`` (str)
        - ``population``: people (float)
        - ``area_class``: ``urban`` or ``rural`` (``unclassified`` when the
          profile names no ``class_column``)
        - ``geometry``: the polygon

    Raises
    ------
    DataError
        The city has no boundaries or population entry (the message says
        which file to add and what it unlocks), a named column is missing, a
        district has no population row or an unreadable value, an area class
        is neither urban nor rural, a feature has no polygon, or the
        boundaries break the CRS policy (:mod:`citybridge.inputs.geo`).
    """
    bpath, ppath = city.optional_path("boundaries"), city.optional_path("population")
    for kind, p in (("boundaries", bpath), ("population", ppath)):
        if p is None:
            raise _no_entry(city, kind)
    for p in (bpath, ppath):
        if not p.exists():
            raise DataError(f"{p}: " + tr("file not found; add it or correct city.yml"))
    bs, ps = city.profile.boundaries, city.profile.population
    b = read_boundaries(city)
    require_column(b, bs.id_column, bpath, "boundaries.id_column")
    ids = b[bs.id_column].astype(str).str.strip()
    dup = ids.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(f"{where(bpath, bs.id_column, i + 1)}: " + tr("district id '{district}' appears twice; merge "
                                                                      "the polygons or give them distinct ids",
                                                                      district=str(ids.iloc[i])))
    pop = read_table(ppath)
    require_column(pop, ps.id_column, ppath, "population.id_column")
    require_column(pop, ps.population_column, ppath, "population.population_column")
    pop = pop.drop_duplicates(ps.id_column, keep="first").set_index(ps.id_column)
    val = ids.map(pop[ps.population_column])
    missing = val.isna() | (val == "")
    if missing.any():
        i = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataError(f"{where(ppath, ps.population_column)}: "
                        + tr("district '{district}' ({name}, row {row} of {file}) has no population; add a row "
                             "with {column} = {district}", district=str(ids.iloc[i]),
                             name=str(b[bs.name_column].iloc[i]), row=i + 1, file=bpath.name, column=ps.id_column))
    num = pd.to_numeric(val, errors="coerce")
    bad = num.isna() | (num < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        row = int(np.flatnonzero((pop.index == ids.iloc[i]))[0]) + 1
        raise DataError(f"{where(ppath, ps.population_column, row)}: "
                        + tr("population '{value}' of district '{district}' is not a number of people; write "
                             "digits only", value=str(val.iloc[i]), district=str(ids.iloc[i])))
    cls = _area_classes(city, ids, pop, b)
    out = gpd.GeoDataFrame({"district_id": ids.to_numpy(), "name": b[bs.name_column].astype(str).to_numpy(),
                            "population": num.astype(float).to_numpy(), "area_class": cls.to_numpy()},
                           geometry=b.geometry.to_numpy(), crs=b.crs)
    return to_metric(out, city.profile.crs)


def population_layer(city) -> gpd.GeoDataFrame | None:
    """The finer population layer named by ``population.layer``, or None.

    Returns
    -------
    GeoDataFrame or None
        ``population`` (people) and polygons or points, in
        ``city.profile.crs`` (metres); ``attrs["name"]`` is the file name.

    Raises
    ------
    DataError
        The file is missing, unreadable, breaks the CRS policy or has no
        ``population`` column or a value that is not a number.
    """
    ps = city.profile.population
    if ps is None or not ps.layer:
        return None
    path = city.folder / ps.layer
    if not path.exists():
        raise DataError(f"{path}: " + tr("population layer named by 'population.layer' not found; add it or "
                                         "remove 'layer' from city.yml"))
    lay = read_geo(path, what="population layer", hint=N_("give a GeoJSON or GeoPackage of polygons or points"))
    if "population" not in lay.columns:
        raise DataError(f"{where(path, 'population')}: " + tr("required column is missing; the layer needs people "
                                                              "per polygon or point in a 'population' column"))
    num = pd.to_numeric(lay["population"], errors="coerce")
    if num.isna().any():
        i = int(np.flatnonzero(num.isna().to_numpy())[0])
        raise DataError(f"{where(path, 'population', i + 1)}: "
                        + tr("'{value}' is not a number of people", value=str(lay["population"].iloc[i])))
    lay = to_metric(lay.assign(population=num.astype(float)), city.profile.crs)
    lay.attrs["name"] = path.name
    return lay
