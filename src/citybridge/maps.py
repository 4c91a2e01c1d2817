"""Folium map builders with one look, offline assets and escaped labels.

Every map made here works with no internet:

* Leaflet and jQuery are inlined from the ``xstatic-leaflet`` and
  ``xstatic-jquery`` wheels instead of being loaded from a CDN; folium's other
  default assets (Bootstrap, Font Awesome, awesome-markers) are not loaded;
* there are no background tiles unless a tile URL is passed explicitly
  (``tiles=``), and then only as an optional layer;
* every label (tooltip, popup, legend) is HTML-escaped, so a stop named
  ``<img src=x onerror=alert(1)>`` shows as text and never runs;
* coordinates are rounded to 5 decimals (about 1 m) and large stop sets are
  aggregated, so pages stay light.
"""
from __future__ import annotations

import base64
import html
import json
from functools import lru_cache
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement, Template

#: One colour per mode, used by every map and chart.
MODE_COLORS = {
    "metro": "#d62728", "rail": "#8c564b", "tram": "#e377c2", "bus": "#1f77b4",
    "ferry": "#17becf", "aerial": "#9467bd", "funicular": "#bcbd22", "other": "#7f7f7f",
}

#: Colours of the headway classes (frequent network map), best first.
HEADWAY_COLORS = {"≤5": "#08306b", "≤10": "#2171b5", "≤15": "#6baed6", "≤30": "#fd8d3c",
                  ">30": "#d94801", "none": "#bdbdbd"}

#: Above this many points a stop layer is aggregated on a grid.
MAX_POINTS = 4000
_ROUND = 5


@lru_cache(maxsize=1)
def _assets() -> str:
    import xstatic.pkg.jquery as xjq
    import xstatic.pkg.leaflet as xleaf

    leaf = Path(xleaf.BASE_DIR)
    js = (leaf / "leaflet.js").read_text(encoding="utf-8")
    css = (leaf / "leaflet.css").read_text(encoding="utf-8")
    # leaflet.css points at images/*.png next to it; inline them as data URIs
    for img in sorted((leaf / "images").glob("*.png")):
        data = base64.b64encode(img.read_bytes()).decode("ascii")
        css = css.replace(f"images/{img.name}", f"data:image/png;base64,{data}")
    jq = (Path(xjq.BASE_DIR) / "jquery.min.js").read_text(encoding="utf-8")
    style = ("html,body{margin:0;padding:0;height:100%;background:#f4f6f8;}"
             ".cb-legend{background:#fff;padding:6px 8px;font:12px/1.4 sans-serif;"
             "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);}"
             ".cb-legend i{display:inline-block;width:12px;height:12px;margin-right:5px;"
             "vertical-align:middle;}")
    return (f"<style>{css}</style><style>{style}</style>"
            f"<script>{js}</script><script>{jq}</script>")


class OfflineMap(folium.Map):
    """A ``folium.Map`` that carries its own Leaflet and loads nothing remote."""

    default_js: list = []
    default_css: list = []

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("tiles", None)
        kwargs.setdefault("control_scale", True)
        super().__init__(*args, **kwargs)
        self.get_root().header.add_child(Element(_assets()), name="citybridge_assets")


def esc(value: object) -> str:
    """HTML-escape any value for a label; None and NaN become an empty string."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def base_map(bounds: tuple[float, float, float, float], *, tiles: str | None = None,
             attribution: str = "", height: int = 520) -> OfflineMap:
    """An empty offline map fitted to ``(min_lon, min_lat, max_lon, max_lat)``.

    ``tiles`` is an optional XYZ tile URL shown as a switchable layer (needs a
    network); by default there is no background layer at all.
    """
    minx, miny, maxx, maxy = bounds
    m = OfflineMap(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10,
                   height=height, width="100%", prefer_canvas=True)
    if tiles:
        folium.TileLayer(tiles=tiles, attr=attribution or "tiles", name="background",
                         overlay=False).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def _round_geojson(gdf: gpd.GeoDataFrame) -> dict:
    data = json.loads(gdf.to_json(drop_id=True))

    def rnd(c):
        if isinstance(c, (list, tuple)):
            if c and isinstance(c[0], (int, float)):
                return [round(float(v), _ROUND) for v in c]
            return [rnd(x) for x in c]
        return c

    for f in data["features"]:
        if f.get("geometry"):
            f["geometry"]["coordinates"] = rnd(f["geometry"]["coordinates"])
    return data


def _escaped(df: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    out = df.copy()
    for f in fields:
        if f in out.columns and (out[f].dtype == object or str(out[f].dtype).startswith("string")):
            out[f] = out[f].map(esc)
    return out


class _Legend(MacroElement):
    """A legend control; rendered after (and attached to) its parent map."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var legend = L.control({position: 'bottomright'});
            legend.onAdd = function() {
                var d = L.DomUtil.create('div'); d.innerHTML = {{ this.box_json }}; return d;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, box: str):
        super().__init__()
        self._name = "Legend"
        # json.dumps escapes quotes; "</" is broken up so the text cannot close the script
        self.box_json = json.dumps(box).replace("</", "<\\/")


def add_legend(m: folium.Map, title: str, items: dict[str, str]) -> None:
    """Add a legend box (bottom right) of ``{label: colour}``; labels escaped."""
    rows = "".join(f'<div><i style="background:{esc(c)}"></i>{esc(k)}</div>' for k, c in items.items())
    box = f'<div class="cb-legend"><b>{esc(title)}</b>{rows}</div>'
    _Legend(box).add_to(m)


def add_lines(m: folium.Map, lines: gpd.GeoDataFrame, *, color_by: str = "mode",
              colors: dict[str, str] | None = None, tooltip: list[str] | None = None,
              aliases: list[str] | None = None, weight: float = 3.0, name: str = "lines") -> None:
    """Draw a GeoDataFrame of lines; colour from ``color_by`` through ``colors``."""
    if lines.empty:
        return
    colors = colors or MODE_COLORS
    tooltip = tooltip or []
    g = _escaped(lines, tooltip)
    g = g.assign(_color=g[color_by].astype(str).map(colors).fillna("#7f7f7f"))
    g = g[[*tooltip, "_color", "geometry"]].to_crs("EPSG:4326")
    data = _round_geojson(g)
    folium.GeoJson(
        data, name=name,
        style_function=lambda f: {"color": f["properties"]["_color"], "weight": weight, "opacity": 0.85},
        tooltip=folium.GeoJsonTooltip(fields=tooltip, aliases=aliases or tooltip, sticky=True) if tooltip else None,
    ).add_to(m)


def aggregate_points(points: pd.DataFrame, *, max_points: int = MAX_POINTS, lat: str = "stop_lat",
                     lon: str = "stop_lon", count_col: str = "n") -> pd.DataFrame:
    """Aggregate points on a regular grid until at most ``max_points`` remain.

    Returns the input unchanged (with ``count_col`` = 1) when small enough;
    otherwise one row per occupied cell at the mean position with the count
    of points and, for other columns, the first value.
    """
    pts = points.assign(**{count_col: 1})
    if len(pts) <= max_points:
        return pts
    cell = 0.002
    while True:
        key = (np.floor(pts[lat] / cell).astype(int).astype(str) + ":" +
               np.floor(pts[lon] / cell).astype(int).astype(str))
        if key.nunique() <= max_points:
            break
        cell *= 1.5
    agg = {c: "first" for c in pts.columns if c not in (lat, lon, count_col)}
    agg.update({lat: "mean", lon: "mean", count_col: "sum"})
    return pts.groupby(key.to_numpy(), sort=True).agg(agg).reset_index(drop=True)


def add_points(m: folium.Map, points: pd.DataFrame, *, color_by: str | None = None,
               colors: dict[str, str] | None = None, color: str = "#333333", radius: float = 3.0,
               tooltip: list[str] | None = None, aliases: list[str] | None = None,
               lat: str = "stop_lat", lon: str = "stop_lon", name: str = "points",
               max_points: int = MAX_POINTS) -> None:
    """Draw points as small circles (canvas-rendered), aggregated above ``max_points``."""
    if points.empty:
        return
    tooltip = tooltip or []
    pts = aggregate_points(points, max_points=max_points, lat=lat, lon=lon)
    if len(pts) < len(points):
        tooltip = [*tooltip, "n"] if "n" not in tooltip else tooltip
        aliases = [*(aliases or tooltip[:-1]), "stops in cell"]
    pts = _escaped(pts, tooltip)
    col = pts[color_by].astype(str).map(colors or MODE_COLORS).fillna(color) if color_by else color
    gdf = gpd.GeoDataFrame(pts[tooltip].assign(_color=col),
                           geometry=gpd.points_from_xy(pts[lon], pts[lat]), crs="EPSG:4326")
    folium.GeoJson(
        _round_geojson(gdf), name=name,
        marker=folium.CircleMarker(radius=radius, fill=True, fill_opacity=0.9, weight=1),
        style_function=lambda f: {"color": f["properties"]["_color"], "fillColor": f["properties"]["_color"]},
        tooltip=folium.GeoJsonTooltip(fields=tooltip, aliases=aliases or tooltip) if tooltip else None,
    ).add_to(m)


def add_polygons(m: folium.Map, polys: gpd.GeoDataFrame, *, column: str | None = None,
                 colors: dict[str, str] | None = None, cmap: list[str] | None = None,
                 vmin: float = 0.0, vmax: float = 1.0, tooltip: list[str] | None = None,
                 aliases: list[str] | None = None, name: str = "areas", fill_opacity: float = 0.6,
                 simplify_m: float = 50.0, color: str = "#555555") -> None:
    """Draw polygons, filled by category (``colors``) or value (``cmap`` from vmin to vmax).

    Geometry is simplified by ``simplify_m`` metres (in a metric CRS) to keep
    pages light.
    """
    if polys.empty:
        return
    tooltip = tooltip or []
    g = polys.copy()
    if simplify_m and g.crs is not None:
        metric = g.estimate_utm_crs()
        g = g.to_crs(metric)
        g["geometry"] = g.geometry.simplify(simplify_m, preserve_topology=True)
    g = g.to_crs("EPSG:4326")
    if column is None:
        fill = pd.Series(color, index=g.index)
    elif colors is not None:
        fill = g[column].astype(str).map(colors).fillna("#bdbdbd")
    else:
        ramp = cmap or ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"]
        v = ((g[column].astype(float) - vmin) / (vmax - vmin or 1)).clip(0, 1)
        fill = v.map(lambda x: "#bdbdbd" if pd.isna(x) else ramp[min(int(x * len(ramp)), len(ramp) - 1)])
    g = _escaped(g, tooltip)
    g = g[[*tooltip, "geometry"]].assign(_fill=fill.to_numpy())
    folium.GeoJson(
        _round_geojson(g), name=name,
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#444444",
                                  "weight": 0.8, "fillOpacity": fill_opacity},
        tooltip=folium.GeoJsonTooltip(fields=tooltip, aliases=aliases or tooltip, sticky=True) if tooltip else None,
    ).add_to(m)


def finish(m: folium.Map) -> folium.Map:
    """Add a layer control when the map has more than one layer."""
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def bounds_of(*frames: pd.DataFrame | gpd.GeoDataFrame, lat: str = "stop_lat", lon: str = "stop_lon"
              ) -> tuple[float, float, float, float]:
    """Union of the extents of GeoDataFrames (any CRS) and lat/lon tables."""
    b = []
    for f in frames:
        if f is None or len(f) == 0:
            continue
        if isinstance(f, gpd.GeoDataFrame):
            b.append(f.to_crs("EPSG:4326").total_bounds)
        else:
            b.append(np.array([f[lon].min(), f[lat].min(), f[lon].max(), f[lat].max()]))
    if not b:
        return (-180.0, -60.0, 180.0, 75.0)
    arr = np.vstack(b)
    return (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max()))


def network_map(lines: gpd.GeoDataFrame, stops: pd.DataFrame, *, boundaries: gpd.GeoDataFrame | None = None,
                tiles: str | None = None) -> OfflineMap:
    """Lines coloured by mode with their stops, over optional boundaries.

    ``lines`` comes from :func:`citybridge.network.route_lines`, ``stops``
    from :func:`citybridge.network.served_stops`.
    """
    m = base_map(bounds_of(lines, stops), tiles=tiles)
    if boundaries is not None and len(boundaries):
        add_polygons(m, boundaries, name="boundaries", fill_opacity=0.15, color="#ffffff",
                     tooltip=["name"], aliases=["area"])
    for mode in [x for x in MODE_COLORS if x in set(lines["mode"])]:
        add_lines(m, lines[lines["mode"] == mode], tooltip=["route_short_name", "route_long_name", "mode"],
                  aliases=["route", "name", "mode"], weight=4 if mode in ("metro", "rail") else 2.5,
                  name=f"{mode} lines")
    add_points(m, stops, color_by="main_mode", tooltip=["stop_name", "modes", "departures"],
               aliases=["stop", "modes", "departures on the day"], name="stops", radius=2.5)
    add_legend(m, "Mode", {k: v for k, v in MODE_COLORS.items() if k in set(lines["mode"])})
    return finish(m)
