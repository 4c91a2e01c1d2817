"""The city around every map: each map opens on the urban area (the whole
region one click away), names the districts and draws the metro lines as a
landmark layer, so that a reader can tell where things are without
background tiles (which stay optional).

Usage in a notebook::

    m = citymap.city_map(place, day, lines)      # fitted to the urban area
    maps.add_lines(m, lines, ...)                 # the chapter's own layers
    citymap.finish(m)                             # landmarks, labels, buttons
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd

from . import maps
from .i18n import N_
from .texts import Text

#: Modes drawn as landmark lines on every map.
LANDMARK_MODES = ("metro", "rail")
#: Colour and dash of the landmark lines (dark, so they read over any layer).
LANDMARK_COLOR = "#222222"


@dataclass
class MapContext:
    """What every map of a city draws besides its own layers.

    ``region`` and ``urban`` are ``(min_lon, min_lat, max_lon, max_lat)``;
    ``urban`` (where the map opens, see :func:`served_core`) is None when
    the city's districts carry no urban class.
    """

    region: tuple[float, float, float, float]
    urban: tuple[float, float, float, float] | None
    districts: gpd.GeoDataFrame | None
    landmarks: gpd.GeoDataFrame | None


def urban_bounds(districts: gpd.GeoDataFrame | None) -> tuple[float, float, float, float] | None:
    """Extent of the districts classed ``urban`` (EPSG:4326), or None."""
    if districts is None or "area_class" not in districts.columns:
        return None
    urban = districts[districts["area_class"] == "urban"]
    if urban.empty:
        return None
    return tuple(float(x) for x in urban.to_crs("EPSG:4326").total_bounds)


def served_core(districts: gpd.GeoDataFrame | None, stops: pd.DataFrame | None, *,
                 q: float = 0.05, pad: float = 0.1) -> tuple[float, float, float, float] | None:
    """Where the urban area's service is: the box holding the middle 90 % (by
    default) of the served stops inside the districts classed urban, padded by
    10 % each side and never larger than the urban districts' extent. None when
    there are no urban districts or fewer than 10 such stops.

    Large districts classed urban (a suburban district of 1,000 km²) would
    otherwise make the urban view nearly as wide as the region.
    """
    ub = urban_bounds(districts)
    if ub is None or stops is None or len(stops) < 10:
        return ub
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(stops["stop_lon"], stops["stop_lat"]), crs="EPSG:4326")
    urban = districts[districts["area_class"] == "urban"].to_crs("EPSG:4326")
    inside = gpd.sjoin(pts, urban[["geometry"]], predicate="within", how="inner")
    if len(inside) < 10:
        return ub
    x, y = inside.geometry.x, inside.geometry.y
    x0, x1, y0, y1 = x.quantile(q), x.quantile(1 - q), y.quantile(q), y.quantile(1 - q)
    dx, dy = max(x1 - x0, 0.01) * pad, max(y1 - y0, 0.01) * pad
    return (float(max(x0 - dx, ub[0])), float(max(y0 - dy, ub[1])), float(min(x1 + dx, ub[2])),
            float(min(y1 + dy, ub[3])))


def context(place, day=None, *frames) -> MapContext:
    """The map context of a city: its districts (with their urban class when the
    population file gives it), the extents, and the landmark lines of ``day``.
    A city without boundaries or population still gets a context (no labels,
    no urban view); nothing here raises for missing optional files."""
    from .errors import CitybridgeError

    districts = None
    try:
        from .access import districts as read_districts

        districts = read_districts(place).to_crs("EPSG:4326")
    except CitybridgeError:
        try:
            from .network import boundaries

            districts = boundaries(place)
        except CitybridgeError:
            districts = None
    landmarks = None
    if day is not None:
        from .network import route_lines

        lines = route_lines(day)
        landmarks = lines[lines["mode"].isin(LANDMARK_MODES)]
        landmarks = landmarks if len(landmarks) else None
    region = maps.bounds_of(*[f for f in frames if f is not None], districts)
    urban = served_core(districts, day.stops if day is not None else None)
    return MapContext(region=region, urban=urban, districts=districts, landmarks=landmarks)


def zoom_for(bounds: tuple[float, float, float, float], width_px: int = 700) -> int:
    """The Web-Mercator zoom at which ``bounds`` spans about ``width_px`` pixels."""
    span = max(bounds[2] - bounds[0], 1e-6)
    return max(int(math.floor(math.log2(360 * width_px / (256 * span)))), 1)


def city_map(place, day=None, *frames, tiles: str | None = None, outlines: bool = True) -> folium.Map:
    """An offline map that opens on the urban area of ``place``.

    ``frames`` (GeoDataFrames or stop tables) are what the map shows; with
    the districts they make the whole region. District outlines are drawn
    underneath unless ``outlines`` is False (a chapter that draws the
    districts itself). Finish the map with :func:`finish`.
    """
    ctx = context(place, day, *frames)
    m = maps.base_map(ctx.urban or ctx.region, tiles=tiles)
    if outlines and ctx.districts is not None and len(ctx.districts):
        maps.add_polygons(m, ctx.districts, name=N_("districts"), fill_opacity=0.0, color="#ffffff",
                          tooltip=["name"], aliases=[N_("district")])
    m._cb_context = ctx
    return m


def finish(m: folium.Map) -> folium.Map:
    """Draw the landmarks on top (metro lines, district names), add the buttons
    "urban area" / "whole region" and the layer control."""
    ctx: MapContext | None = getattr(m, "_cb_context", None)
    if ctx is not None:
        if ctx.landmarks is not None:
            maps.add_lines(m, ctx.landmarks, color_by="mode", colors={k: LANDMARK_COLOR for k in LANDMARK_MODES},
                           tooltip=["route_short_name", "route_long_name"], aliases=[N_("line"), N_("name")],
                           weight=1.5, opacity=0.9, dash="6 4", name=N_("metro lines (landmark)"))
        if ctx.districts is not None and len(ctx.districts):
            pts = ctx.districts.to_crs(ctx.districts.estimate_utm_crs()).representative_point().to_crs("EPSG:4326")
            labels = pd.DataFrame({"lat": pts.y, "lon": pts.x, "text": ctx.districts["name"].astype(str)})
            maps.add_labels(m, labels, min_zoom=zoom_for(ctx.urban or ctx.region) - 1)
        if ctx.urban is not None:
            maps.add_view_buttons(m, {N_("urban area"): ctx.urban, N_("whole region"): ctx.region})
    return maps.finish(m)


def network_map(lines: gpd.GeoDataFrame, stops: pd.DataFrame, *, boundaries: gpd.GeoDataFrame | None = None,
                tiles: str | None = None, base: folium.Map | None = None) -> maps.OfflineMap:
    """Lines coloured by mode with their stops, over optional boundaries.

    ``lines`` comes from :func:`citybridge.network.route_lines`, ``stops``
    from :func:`citybridge.network.served_stops`. With ``base`` (e.g. from
    :func:`citybridge.citymap.city_map`) the layers go on that map, which
    is returned unfinished.
    """
    m = base if base is not None else maps.base_map(maps.bounds_of(lines, stops), tiles=tiles)
    if boundaries is not None and len(boundaries):
        maps.add_polygons(m, boundaries, name=N_("boundaries"), fill_opacity=0.15, color="#ffffff",
                     tooltip=["name"], aliases=[N_("area")])
    for mode in [x for x in maps.MODE_COLORS if x in set(lines["mode"])]:
        maps.add_lines(m, lines[lines["mode"] == mode], tooltip=["route_short_name", "route_long_name", "mode"],
                  aliases=[N_("route"), N_("name"), N_("mode")], weight=4 if mode in ("metro", "rail") else 2.5,
                  name=Text("{mode} lines", mode=Text(mode)))
    maps.add_points(m, stops, color_by="main_mode", tooltip=["stop_name", "modes", "departures"],
               aliases=[N_("stop"), N_("modes"), N_("departures on the day")], name=N_("stops"), radius=2.5)
    maps.add_legend(m, N_("Mode"), {Text(k): v for k, v in maps.MODE_COLORS.items() if k in set(lines["mode"])})
    return m if base is not None else maps.finish(m)
