"""Folium map builders with one look, offline assets and escaped labels.

Every map made here works with no internet:

* Leaflet is inlined from the ``xstatic-leaflet`` wheel instead of being
  loaded from a CDN (the built book swaps the inlined copy for one shared
  file, see :func:`citybridge.site.share_map_assets`); folium's other default
  assets (jQuery, Bootstrap, Font Awesome, awesome-markers) are not loaded;
* there are no background tiles unless a tile URL is passed explicitly
  (``tiles=``), and then only as an optional layer;
* every label is shown as text: tooltips are built with ``textContent`` and
  legends are HTML-escaped, so a stop named ``<img src=x onerror=alert(1)>``
  shows as text and never runs;
* pages stay light (a built page of its own stays well under 2 MB): layers are
  drawn from a compact encoding (a colour palette, coordinates as integer
  steps of 1e-5 degree, about 1 m, delta-encoded along lines and rings, the
  tooltip values once per feature) instead of one GeoJSON feature and one
  style case each; lines and polygons are simplified in metres; stop layers
  above :data:`MAX_POINTS` points show grid cells with their counts at low
  zoom and the stops themselves (up to :data:`MAX_DETAIL_POINTS`) once
  zoomed in, so a map of tens of thousands of stops stays responsive.
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
from folium.map import Layer

from .i18n import N_
from .map_controls import add_labels, add_view_buttons, label, script_json  # noqa: F401 (part of the maps API)

#: One colour per mode, used by every map and chart.
MODE_COLORS = {
    "metro": "#d62728", "rail": "#8c564b", "tram": "#e377c2", "bus": "#1f77b4",
    "ferry": "#17becf", "aerial": "#9467bd", "funicular": "#bcbd22", "other": "#7f7f7f",
}

#: The modes' names as readers see them (marked for the catalogs; shown through :func:`label`).
MODE_NAMES = (N_("metro"), N_("rail"), N_("tram"), N_("bus"), N_("ferry"), N_("aerial"), N_("funicular"),
              N_("other"))

#: Colours of the headway classes (frequent network map), best first.
HEADWAY_COLORS = {"≤5": "#08306b", "≤10": "#2171b5", "≤15": "#6baed6", "≤30": "#fd8d3c",
                  ">30": "#d94801", "none": "#bdbdbd"}

#: Above this many points a stop layer shows grid cells at low zoom.
MAX_POINTS = 4000
#: At most this many points are drawn one by one when zoomed in (more are
#: aggregated on a finer grid).
MAX_DETAIL_POINTS = 20000
#: Cells are replaced by the points once a cell spans this many pixels.
_DETAIL_CELL_PX = 16
_ROUND = 5
_SCALE = 10**_ROUND

#: The compact-layer decoder, shared by every layer of a map (small).
_CB_JS = r"""
function cbDecode(a,s){var o=[],y=0,x=0;for(var i=0;i<a.length;i+=2){y+=a[i];x+=a[i+1];o.push([y/s,x/s]);}return o;}
function cbTip(f,r){return function(){var t=document.createElement('table');t.className='cb-tip';
for(var i=0;i<f.length;i++){var v=r[2+i];var tr=t.insertRow();var th=document.createElement('th');
th.textContent=f[i];tr.appendChild(th);tr.insertCell().textContent=(v===null||v===undefined)?'':String(v);}
return t;};}
function cbMake(p,f,rows){var out=[],s=p.scale,st=p.style;for(var k=0;k<rows.length;k++){var r=rows[k],c=p.colors[r[0]],g=r[1],l;
if(p.kind==='point'){l=L.circleMarker([g[0]/s,g[1]/s],L.extend({},st,{color:c,fillColor:c}));}
else if(p.kind==='line'){l=L.polyline(g.map(function(a){return cbDecode(a,s);}),L.extend({},st,{color:c}));}
else{l=L.polygon(g.map(function(q){return q.map(function(a){return cbDecode(a,s);});}),L.extend({},st,{fillColor:c}));}
if(f.length){l.bindTooltip(cbTip(f,r),{sticky:p.kind!=='point'});}out.push(l);}return out;}
function cbLayer(map,p){var g=L.featureGroup();if(!p.detail){cbMake(p,p.fields,p.rows).forEach(function(l){g.addLayer(l);});return g;}
var coarse=L.featureGroup(cbMake(p,p.fields,p.rows)),fine=null;
function sync(){var z=map.getZoom()>=p.detail.zoom;if(z&&!fine){fine=L.featureGroup(cbMake(p,p.detail.fields,p.detail.rows));}
var on=z?fine:coarse,off=z?coarse:fine;if(off&&g.hasLayer(off)){g.removeLayer(off);}if(!g.hasLayer(on)){g.addLayer(on);}}
map.on('zoomend',sync);sync();return g;}
"""


@lru_cache(maxsize=1)
def leaflet_assets() -> str:
    """Leaflet's CSS (images inlined) and JavaScript as ``<style>``/``<script>`` tags.

    The one large part of every map (about 150 kB). The book swaps this exact
    text for links to one shared copy (:func:`citybridge.site.share_map_assets`).
    """
    import xstatic.pkg.leaflet as xleaf

    leaf = Path(xleaf.BASE_DIR)
    js = (leaf / "leaflet.js").read_text(encoding="utf-8")
    css = (leaf / "leaflet.css").read_text(encoding="utf-8")
    # leaflet.css points at images/*.png next to it; inline them as data URIs
    for img in sorted((leaf / "images").glob("*.png")):
        data = base64.b64encode(img.read_bytes()).decode("ascii")
        css = css.replace(f"images/{img.name}", f"data:image/png;base64,{data}")
    return f"<style>{css}</style><script>{js}</script>"


@lru_cache(maxsize=1)
def _assets() -> str:
    """Everything a map needs besides its data: Leaflet, the map style and the
    compact-layer decoder. (jQuery is not needed: no popups are used.)"""
    style = ("html,body{margin:0;padding:0;height:100%;background:#f4f6f8;}"
             ".cb-legend{background:#fff;padding:6px 8px;font:12px/1.4 sans-serif;"
             "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);}"
             ".cb-legend i{display:inline-block;width:12px;height:12px;margin-right:5px;"
             "vertical-align:middle;}"
             ".cb-tip th{text-align:left;padding:1px 8px 1px 0;font-weight:600;}"
             ".cb-tip td{padding:1px 0;}"
             ".cb-label{font:600 11px/1.2 sans-serif;color:#333;white-space:nowrap;text-align:center;"
             "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff;pointer-events:none;}"
             ".cb-views button{display:block;width:100%;margin:0;padding:3px 8px;border:0;"
             "border-bottom:1px solid #ccc;background:#fff;font:12px sans-serif;cursor:pointer;}"
             ".cb-views button:hover{background:#f0f0f0;}")
    return f"{leaflet_assets()}<style>{style}</style><script>{_CB_JS}</script>"


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


def _value(v):
    """A tooltip value as plain JSON: numbers rounded to 6 significant digits,
    missing values as null, anything else as text."""
    from .texts import Text

    if v is None or isinstance(v, Text):  # a Text is drawn in each language (see script_json)
        return v
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not np.isfinite(v) else float(f"{float(v):.6g}")
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def _ints(coords: np.ndarray) -> np.ndarray:
    """(lon, lat) coordinates to (lat, lon) integer steps of 1e-5 degree."""
    c = np.asarray(coords, dtype=float)[:, :2]
    return np.round(c[:, ::-1] * _SCALE).astype(np.int64)


def _delta(coords: np.ndarray) -> list[int]:
    """A line or ring as flat delta-encoded integers (repeated points dropped)."""
    q = _ints(coords)
    if len(q) > 1:
        keep = np.r_[True, (q[1:] != q[:-1]).any(axis=1)]
        q = q[keep]
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    return d.ravel().tolist()


def _parts(geom, kind: str) -> list:
    """Compact geometry: lines as a list of parts, polygons as a list of
    polygons (each a list of rings)."""
    if geom is None or geom.is_empty:
        return []
    gt = geom.geom_type
    if kind == "line":
        if gt == "LineString":
            return [_delta(np.asarray(geom.coords))]
        if gt == "MultiLineString":
            return [_delta(np.asarray(g.coords)) for g in geom.geoms]
        if gt in ("Polygon", "MultiPolygon"):
            return _parts(geom.boundary, "line")
        if gt == "GeometryCollection":
            return [p for g in geom.geoms for p in _parts(g, "line")]
        return []
    if gt == "Polygon":
        return [[_delta(np.asarray(geom.exterior.coords))] + [_delta(np.asarray(r.coords)) for r in geom.interiors]]
    if gt == "MultiPolygon":
        return [q for g in geom.geoms for q in _parts(g, "poly")]
    if gt == "GeometryCollection":
        return [q for g in geom.geoms for q in _parts(g, "poly")]
    return []


class CompactLayer(Layer):
    """A map layer drawn from the compact encoding by the page's ``cbLayer``.

    ``spec`` holds ``kind`` (``point``, ``line`` or ``poly``), ``scale``,
    ``style`` (Leaflet path options), ``colors`` (palette), ``fields``
    (tooltip labels) and ``rows`` (``[colour index, geometry, value, …]``),
    and optionally ``detail`` (``zoom``, ``fields``, ``rows``) shown instead
    of ``rows`` from that zoom on.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = cbLayer({{ this._parent.get_name() }}, {{ this.spec_json }});
        {% endmacro %}
    """)

    def __init__(self, spec: dict, name: str):
        self._label = name
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "CompactLayer"
        self.spec = spec

    @property
    def layer_name(self) -> str:
        """The layer's name in the layer control, in the language in force."""
        return label(self._label)

    @layer_name.setter
    def layer_name(self, value) -> None:
        self._label = value

    @property
    def spec_json(self) -> str:
        """The layer as JSON, its tooltip labels in the language in force (drawn at render time)."""
        spec = dict(self.spec)
        spec["fields"] = [label(f) for f in spec.get("fields", [])]
        if "detail" in spec:
            spec["detail"] = dict(spec["detail"], fields=[label(f) for f in spec["detail"]["fields"]])
        return script_json(spec)


def _rows(values: pd.DataFrame, fields: list[str], color_idx: np.ndarray, geoms: list) -> list:
    cols = [values[f].tolist() for f in fields]
    return [[int(color_idx[i]), geoms[i], *(_value(c[i]) for c in cols)] for i in range(len(geoms))]


def _palette(keys: pd.Series, colors: dict[str, str], default: str) -> tuple[list[str], np.ndarray]:
    col = keys.astype(str).map(colors).fillna(default).astype(str)
    codes, uniq = pd.factorize(col)
    return [str(u) for u in uniq], codes


def _metric_simplify(g: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    if not tolerance_m or g.crs is None or g.empty:
        return g.to_crs("EPSG:4326") if g.crs is not None else g
    metric = g.estimate_utm_crs()
    g = g.to_crs(metric)
    g = g.set_geometry(g.geometry.simplify(tolerance_m, preserve_topology=True))
    return g.to_crs("EPSG:4326")


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

    def __init__(self, title, items: dict):
        super().__init__()
        self._name = "Legend"
        self.title, self.items = title, items

    @property
    def box_json(self) -> str:
        """The legend's HTML as a JSON string, in the language in force (drawn at render time)."""
        rows = "".join(f'<div><i style="background:{esc(c)}"></i>{esc(label(k))}</div>' for k, c in self.items.items())
        box = f'<div class="cb-legend"><b>{esc(label(self.title))}</b>{rows}</div>'
        # json.dumps escapes quotes; "</" is broken up so the text cannot close the script
        return json.dumps(box).replace("</", "<\\/")


def translated_page(m: folium.Map) -> str:
    """The map's standalone HTML page drawn in the language in force."""
    return m.get_root().render()


def add_legend(m: folium.Map, title, items: dict) -> None:
    """Add a legend box (bottom right) of ``{label: colour}``; labels escaped and
    translated when the page is drawn (:func:`label`)."""
    _Legend(title, items).add_to(m)


def add_lines(m: folium.Map, lines: gpd.GeoDataFrame, *, color_by: str = "mode",
              colors: dict[str, str] | None = None, tooltip: list[str] | None = None,
              aliases: list[str] | None = None, weight: float = 3.0, name: str = "lines",
              simplify_m: float = 5.0, opacity: float = 0.85, dash: str | None = None) -> None:
    """Draw a GeoDataFrame of lines; colour from ``color_by`` through ``colors``.

    Geometry is simplified by ``simplify_m`` metres (in a metric CRS) and
    drawn from the compact encoding; tooltips show ``tooltip`` columns as text.
    """
    if lines.empty:
        return
    colors = colors or MODE_COLORS
    tooltip = list(tooltip or [])
    g = _metric_simplify(lines, simplify_m).reset_index(drop=True)
    palette, idx = _palette(g[color_by], colors, "#7f7f7f")
    geoms = [_parts(geom, "line") for geom in g.geometry]
    spec = {"kind": "line", "scale": _SCALE, "style": {"weight": weight, "opacity": opacity, "dashArray": dash},
            "colors": palette, "fields": list(aliases or tooltip), "rows": _rows(g, tooltip, idx, geoms)}
    CompactLayer(spec, name).add_to(m)


def _aggregate(points: pd.DataFrame, max_points: int, lat: str, lon: str, count_col: str,
               start_cell: float = 0.002) -> tuple[pd.DataFrame, float]:
    pts = points.assign(**{count_col: 1})
    if len(pts) <= max_points:
        return pts, 0.0
    cell = start_cell
    while True:
        key = (np.floor(pts[lat] / cell).astype(np.int64) * 1_000_003 + np.floor(pts[lon] / cell).astype(np.int64))
        if key.nunique() <= max_points:
            break
        cell *= 1.5
    agg = {c: "first" for c in pts.columns if c not in (lat, lon, count_col)}
    agg.update({lat: "mean", lon: "mean", count_col: "sum"})
    return pts.groupby(key.to_numpy(), sort=True).agg(agg).reset_index(drop=True), cell


def aggregate_points(points: pd.DataFrame, *, max_points: int = MAX_POINTS, lat: str = "stop_lat",
                     lon: str = "stop_lon", count_col: str = "n") -> pd.DataFrame:
    """Aggregate points on a regular grid until at most ``max_points`` remain.

    Returns the input unchanged (with ``count_col`` = 1) when small enough;
    otherwise one row per occupied cell at the mean position with the count
    of points and, for other columns, the first value.
    """
    return _aggregate(points, max_points, lat, lon, count_col)[0]


def add_points(m: folium.Map, points: pd.DataFrame, *, color_by: str | None = None,
               colors: dict[str, str] | None = None, color: str = "#333333", radius: float = 3.0,
               tooltip: list[str] | None = None, aliases: list[str] | None = None,
               lat: str = "stop_lat", lon: str = "stop_lon", name: str = "points",
               max_points: int = MAX_POINTS, max_detail: int = MAX_DETAIL_POINTS) -> None:
    """Draw points as small circles (canvas-rendered).

    Above ``max_points`` points the layer shows grid cells (at most half as
    many, at the mean position of their points, coloured by the first
    point's ``color_by``, tooltip with the count) while zoomed out, and the
    points themselves once a cell spans about 16 pixels; above ``max_detail``
    points even that level is a (finer) grid.
    """
    if points.empty:
        return
    tooltip = list(tooltip or [])
    labels = list(aliases or tooltip)
    pts = points[points[lat].notna() & points[lon].notna()].reset_index(drop=True)

    def palette(df: pd.DataFrame) -> tuple[list[str], np.ndarray]:
        if color_by:
            return _palette(df[color_by], colors or MODE_COLORS, color)
        return [color], np.zeros(len(df), dtype=np.int64)

    spec = {"kind": "point", "scale": _SCALE,
            "style": {"radius": radius, "weight": 1, "fillOpacity": 0.9, "opacity": 1}}
    if len(pts) <= max_points:
        pal, idx = palette(pts)
        spec.update(colors=pal, fields=labels, rows=_rows(pts, tooltip, idx, _ints(pts[[lon, lat]].to_numpy()).tolist()))
    else:
        # zoomed out: cells with their counts (no names: a cell holds many stops)
        coarse, cell = _aggregate(pts, max(max_points // 2, 1), lat, lon, "n")
        fine, fcell = _aggregate(pts, max_detail, lat, lon, "n", start_cell=min(cell, 0.0002))
        both = pd.concat([coarse, fine], ignore_index=True)
        pal, idx = palette(both)
        crow = _rows(coarse, ["n"], idx[:len(coarse)], _ints(coarse[[lon, lat]].to_numpy()).tolist())
        ffields = [*tooltip, "n"] if fcell else tooltip
        frow = _rows(fine, ffields, idx[len(coarse):], _ints(fine[[lon, lat]].to_numpy()).tolist())
        zoom = int(np.ceil(np.log2(_DETAIL_CELL_PX * 360 / (256 * cell))))
        spec.update(colors=pal, fields=[N_("stops in cell")], rows=crow,
                    detail={"zoom": zoom, "fields": [*labels, N_("stops in cell")] if fcell else labels,
                            "rows": frow})
    CompactLayer(spec, name).add_to(m)


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
    tooltip = list(tooltip or [])
    g = _metric_simplify(polys, simplify_m).reset_index(drop=True)
    if column is None:
        fill = pd.Series(color, index=g.index)
    elif colors is not None:
        fill = g[column].astype(str).map(colors).fillna("#bdbdbd")
    else:
        ramp = cmap or ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"]
        v = ((g[column].astype(float) - vmin) / (vmax - vmin or 1)).clip(0, 1)
        fill = v.map(lambda x: "#bdbdbd" if pd.isna(x) else ramp[min(int(x * len(ramp)), len(ramp) - 1)])
    codes, uniq = pd.factorize(fill.astype(str))
    geoms = [_parts(geom, "poly") for geom in g.geometry]
    spec = {"kind": "poly", "scale": _SCALE,
            "style": {"color": "#444444", "weight": 0.8, "fillOpacity": fill_opacity},
            "colors": [str(u) for u in uniq], "fields": list(aliases or tooltip),
            "rows": _rows(g, tooltip, codes, geoms)}
    CompactLayer(spec, name).add_to(m)


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
