"""Map controls drawn when the page is drawn: labels, view buttons and the words they show.

Every word a map shows (layer names, tooltip fields, legend entries, the
buttons) is written when the map's page is rendered, in the language in force
then (:func:`label`), so one map drawn per edition reads in that edition's
language. The snippets are embedded as JSON that cannot close a script
(:func:`script_json`).
"""
from __future__ import annotations

import json

import folium
import pandas as pd
from branca.element import MacroElement, Template


def script_json(obj) -> str:
    """JSON safe inside a ``<script>`` (no ``<``, ``>`` or ``&`` characters); a
    :class:`~citybridge.texts.Text` (a tooltip value) is written in the language in force."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def label(value) -> str:
    """A map label (legend entry, tooltip field, layer name) in the language in force:
    a :class:`~citybridge.texts.Text` is translated, a string the catalog knows too."""
    from .texts import Text, translate

    return str(value) if isinstance(value, Text) else translate(str(value))


class Script(MacroElement):
    """A snippet run with the map (``map`` is the map's variable); ``code`` is a string,
    or a function that writes it when the page is drawn (words in the language in force)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function(map) { {{ this.code }} })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, code):
        super().__init__()
        self._name = "CbScript"
        self._code = code

    @property
    def code(self) -> str:
        """The snippet as drawn now."""
        return self._code() if callable(self._code) else self._code


def add_labels(m: folium.Map, labels: pd.DataFrame, *, min_zoom: int = 0) -> None:
    """Permanent text labels (``lat``, ``lon``, ``text``), set as text, never markup;
    shown from zoom ``min_zoom`` on."""
    rows = [[float(r.lat), float(r.lon), str(r.text)] for r in labels.itertuples() if pd.notna(r.lat)]
    Script("var g=L.layerGroup();" + script_json(rows) + ".forEach(function(r){var s=document.createElement('span');"
           "s.textContent=r[2];L.marker([r[0],r[1]],{icon:L.divIcon({className:'cb-label',html:s,"
           "iconSize:null}),interactive:false,keyboard:false}).addTo(g);});"
           "function z(){if(map.getZoom()>=" + str(int(min_zoom)) + "){g.addTo(map);}else{map.removeLayer(g);}}"
           "map.on('zoomend',z);z();").add_to(m)


def add_view_buttons(m: folium.Map, views: dict[str, tuple[float, float, float, float]]) -> None:
    """Buttons (top left) that fit the map to named extents, e.g. the urban area and the whole
    region; their words are written in the language the page is drawn in."""
    from .texts import tr

    def code() -> str:
        items = [[label(k), tr("Show {view}", view=label(k)), [[b[1], b[0]], [b[3], b[2]]]] for k, b in views.items()]
        return ("var c=L.control({position:'topleft'});c.onAdd=function(){var d=L.DomUtil.create('div',"
                "'leaflet-bar cb-views');" + script_json(items) + ".forEach(function(v){var b=L.DomUtil.create("
                "'button','',d);b.type='button';b.textContent=v[0];b.title=v[1];L.DomEvent.on(b,'click',function(e){"
                "L.DomEvent.stop(e);map.fitBounds(v[2]);});});L.DomEvent.disableClickPropagation(d);return d;};"
                "c.addTo(map);")

    Script(code).add_to(m)


__all__ = ["script_json", "label", "Script", "add_labels", "add_view_buttons"]
