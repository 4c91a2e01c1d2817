"""Reading geographic files with one CRS policy.

Every optional geo input of a city (district boundaries, a population layer)
is read here, and the same rule for coordinate reference systems holds for
all of them:

1. A file that declares its CRS is read in that CRS.
2. A GeoJSON file (``.geojson``, ``.json``) that declares none is WGS-84
   longitude/latitude, as RFC 7946 defines the format.
3. Any other file that declares none is refused with a
   :class:`~citybridge.errors.DataError` naming the file and what to do
   (save it again with its CRS, e.g. the ``.prj`` next to a shapefile); the
   package never guesses a CRS.
4. Coordinates read as degrees must lie within ±180° / ±90°; a file whose
   numbers are metres while it claims (or is assumed to be in) degrees is
   refused, not drawn in the wrong place.
5. Where metres are needed (areas, distances, catchments) the layer is
   reprojected to the city's metric CRS (``crs`` in ``city.yml``) with
   :func:`to_metric`; a CRS in degrees is converted, never used for
   measuring.

Tables that may come as CSV or as any OGR file (the population table) are
read as text by :func:`read_table`.
"""
from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from ..errors import DataError, where
from ..i18n import N_
from ..texts import T, tr
from ..feed import decode_text

#: The names of the layers read here, as messages name them (``what``, translated when shown).
LAYER_NAMES = (N_("boundaries"), N_("population layer"))

#: The CRS of GeoJSON (RFC 7946) and GBFS: WGS-84 longitude/latitude.
WGS84 = "EPSG:4326"
#: File suffixes read as GeoJSON, whose CRS is WGS-84 when none is declared.
GEOJSON_SUFFIXES = (".geojson", ".json")
#: Geometry types of district boundaries and other area layers.
POLYGONS = ("Polygon", "MultiPolygon")


def read_geo(path: str | Path, *, what: str, hint: str = N_("use GeoJSON or GeoPackage")) -> gpd.GeoDataFrame:
    """A geographic file, read with the package's CRS policy.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, shapefile or any other OGR file.
    what
        What the file holds, for messages (e.g. ``"boundaries"``).
    hint
        What to do when the file cannot be read at all.

    Returns
    -------
    GeoDataFrame
        The file's columns and ``geometry``, in the CRS the file declares
        (WGS-84, EPSG:4326, for a GeoJSON that declares none). Geometries
        are as read: see :func:`geometry_problems` and :func:`polygons`.

    Raises
    ------
    DataError
        The file cannot be read, declares no CRS and is not GeoJSON, or
        holds coordinates in metres while its CRS is in degrees.
    """
    path = Path(path)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - pyogrio raises several types
        raise DataError(f"{path}: " + tr("cannot read the {what} ({kind}: {reason}); {hint}", what=T(what),
                                         kind=type(exc).__name__, reason=str(exc), hint=T(hint))) from None
    return with_crs_policy(gdf, path, what=what)


def with_crs_policy(gdf: gpd.GeoDataFrame, path: str | Path, *, what: str) -> gpd.GeoDataFrame:
    """Apply the CRS policy (module docstring, rules 2–4) to a layer read from ``path``.

    Returns
    -------
    GeoDataFrame
        ``gdf`` unchanged, or with WGS-84 set when it is a GeoJSON without CRS.

    Raises
    ------
    DataError
        No CRS on a file other than GeoJSON, or degrees out of range.
    """
    path = Path(path)
    if gdf.crs is None:
        if path.suffix.lower() not in GEOJSON_SUFFIXES:
            raise DataError(f"{path}: " + tr("the {what} declare no coordinate reference system (CRS), and the "
                                             "package does not guess one; save the file again with its CRS (for a "
                                             "shapefile, the .prj file next to it) or as GeoJSON in WGS-84 "
                                             "longitude/latitude", what=T(what)))
        gdf = gdf.set_crs(WGS84)
    if gdf.crs.is_geographic and len(gdf):
        xmin, ymin, xmax, ymax = gdf.total_bounds
        if np.isfinite([xmin, ymin, xmax, ymax]).all() and (
                min(xmin, ymin) < -180 or max(xmax, ymax) > 180 or ymin < -90 or ymax > 90):
            raise DataError(f"{path}: " + tr("the {what} are read as longitude/latitude in degrees ({crs}) but hold "
                                             "coordinates up to {x:,.0f}, {y:,.0f}, which look like metres; declare "
                                             "the file's projected CRS (a GeoJSON without a 'crs' member is WGS-84 "
                                             "by definition) or reproject it to WGS-84", what=T(what),
                                             crs=gdf.crs.to_string(), x=float(max(abs(xmin), abs(xmax))),
                                             y=float(max(abs(ymin), abs(ymax)))))
    return gdf


def metric_crs(crs: str) -> CRS:
    """The CRS named by ``crs``, checked to be projected and measured in metres.

    Raises
    ------
    DataError
        ``crs`` is unknown, geographic (degrees) or in another unit; the
        message says to write the city's metric UTM zone in ``city.yml``.
    """
    hint = T("write the city's metric UTM zone as 'crs' in city.yml (e.g. EPSG:32719 for Santiago)")
    try:
        c = CRS.from_user_input(crs)
    except CRSError:
        raise DataError(tr("crs '{code}' is not a known coordinate reference system; {hint}", code=str(crs),
                           hint=hint)) from None
    unit = (c.axis_info[0].unit_name if c.axis_info else "") or ""
    if not c.is_projected or unit.lower() not in ("metre", "meter", "m"):
        raise DataError(tr("crs '{code}' ({name}) does not measure in metres, so areas and distances would be "
                           "wrong; {hint}", code=str(crs), name=c.name, hint=hint))
    return c


def to_metric(gdf: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """``gdf`` reprojected to the metric CRS ``crs`` (policy rule 5).

    Returns
    -------
    GeoDataFrame
        The same rows and columns, coordinates in metres in ``crs``.

    Raises
    ------
    DataError
        ``gdf`` has no CRS, or ``crs`` is not a projected CRS in metres.
    """
    metric_crs(crs)
    if gdf.crs is None:
        raise DataError("the layer has no CRS; read it with citybridge.inputs.read_geo, or set the CRS its "
                        "coordinates are in with gdf.set_crs(...)")
    return gdf.to_crs(crs)


def geometry_problems(geom: gpd.GeoSeries, *, kinds: tuple[str, ...] = POLYGONS) -> dict[str, np.ndarray]:
    """Masks of the features whose geometry is missing, of another type, or invalid.

    Returns
    -------
    dict of boolean arrays (one entry per feature)
        ``empty``: no geometry or an empty one; ``other``: a geometry not of
        ``kinds``; ``invalid``: of ``kinds`` but not valid (e.g. a
        self-intersecting polygon).
    """
    empty = (geom.isna() | geom.is_empty).to_numpy()
    other = ~empty & ~geom.geom_type.fillna("").isin(list(kinds)).to_numpy()
    invalid = ~empty & ~other & ~geom.is_valid.to_numpy()
    return {"empty": empty, "other": other, "invalid": invalid}


def polygons(gdf: gpd.GeoDataFrame, path: str | Path, *, what: str) -> gpd.GeoDataFrame:
    """The layer's polygons, each feature checked, invalid ones repaired.

    Returns
    -------
    GeoDataFrame
        ``gdf`` with invalid polygons (self-intersections) replaced by
        :func:`shapely.make_valid`; same rows, columns and CRS.

    Raises
    ------
    DataError
        A feature has no geometry or is not a polygon (the message names
        the file, the ``geometry`` column and the first such row, counted
        from 1).
    """
    bad = geometry_problems(gdf.geometry)
    for key, message in (("empty", N_("{n:,} feature(s) of the {what} are unusable: the first has no geometry; "
                                       "add its polygon or delete the feature")),
                         ("other", N_("{n:,} feature(s) of the {what} are unusable: the first is not a polygon (a "
                                      "point or line has no area, so its population would count as not served); "
                                      "give district polygons"))):
        if bad[key].any():
            i = int(np.flatnonzero(bad[key])[0])
            raise DataError(f"{where(path, 'geometry', i + 1)}: "
                            + tr(message, n=int(bad[key].sum()), what=T(what)))
    if bad["invalid"].any():
        geom = gdf.geometry
        gdf = gdf.set_geometry(geom.where(~bad["invalid"], shapely.make_valid(geom.values)))
    return gdf


def require_column(df: pd.DataFrame, col: str | None, path: str | Path, key: str) -> None:
    """Refuse a table that lacks the column ``col`` named by ``key`` in city.yml.

    Raises
    ------
    DataError
        Naming the file, the column, the city.yml key and the columns present.
    """
    if col is not None and col not in df.columns:
        present = ", ".join(str(c) for c in df.columns if c != "geometry")
        raise DataError(f"{where(path, col)}: " + tr("column is missing (city.yml '{key}' names it); columns "
                                                     "present: {present}. Rename the column or correct '{key}'",
                                                     key=key, present=present))


def read_table(path: str | Path) -> pd.DataFrame:
    """A table as text: CSV/TSV (UTF-8 with or without BOM, else Windows-1252) or any OGR file.

    Returns
    -------
    DataFrame
        The file's columns (geometry dropped), every value a stripped string
        (missing values as ``""``); column names stripped of spaces and BOM.

    Raises
    ------
    DataError
        The file is not a readable CSV or OGR table.
    """
    path = Path(path)
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        text, _ = decode_text(path.read_bytes())
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        try:
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataError(f"{path}: " + tr("not a readable CSV table ({reason}); check quoting and commas",
                                             reason=str(exc))) from None
    else:
        try:
            df = pd.DataFrame(gpd.read_file(path).drop(columns="geometry", errors="ignore"))
        except Exception as exc:  # noqa: BLE001 - pyogrio raises several types
            raise DataError(f"{path}: " + tr("could not read the table ({kind}: {reason})", kind=type(exc).__name__,
                                             reason=str(exc))) from None
        df = df.astype(str).replace({"nan": "", "None": ""})
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    return df.apply(lambda s: s.str.strip())
