"""Plotly chart builders with one look, and a display wrapper for the book.

Figures are shown with :func:`show`, which emits two representations:

* ``application/vnd.plotly.v1+json`` for JupyterLab (rendered by plotly's own
  JupyterLab extension);
* ``text/html`` for the book: a ``<figure>`` with the chart's JSON, a small
  loader that draws it with the site's single copy of ``plotly.min.js``
  (shipped as a static file, never inlined and never from a CDN), a caption,
  a text alternative and a source line.
"""
from __future__ import annotations

import functools
import html
import json
import uuid
from typing import Any, Callable

import pandas as pd
import plotly.graph_objects as go

from . import i18n
from .maps import MODE_COLORS

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif"


def style(fig: go.Figure, *, title: str = "", height: int = 420) -> go.Figure:
    """Apply the workbook's look (no web fonts: system font stack only)."""
    fig.update_layout(template="plotly_white", title=title or None, height=height,
                      font={"family": FONT, "size": 13}, margin={"l": 60, "r": 20, "t": 50 if title else 20, "b": 50},
                      legend={"orientation": "h", "y": -0.2})
    return fig


#: Figure properties holding text a reader sees (translated by :func:`translated_figure`).
_TEXT_KEYS = {"text", "name", "hovertemplate", "ticktext", "legendgroup"}
#: Trace properties that may hold category labels (translated when the catalog knows them).
_CATEGORY_KEYS = {"x", "y", "labels", "text", "customdata", "categoryarray"}


def _translate_tree(node, key: str = ""):
    from .texts import translate

    if isinstance(node, str):
        return translate(node) if key in _TEXT_KEYS or key in _CATEGORY_KEYS or key == "title" else node
    if isinstance(node, dict):
        return {k: _translate_tree(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_translate_tree(v, key) for v in node]
    return node


def drawn_per_language(builder: Callable[..., go.Figure]) -> Callable[..., go.Figure]:
    """Make a chart builder that writes its own texts (wrapped names, values as
    people write them) build its figure again in each language it is shown in.

    The figure returned remembers its builder and arguments;
    :func:`translated_figure` calls the builder anew in the language in force.
    """

    @functools.wraps(builder)
    def wrapper(*args: Any, **kwargs: Any) -> go.Figure:
        fig = builder(*args, **kwargs)
        fig._cb_build = (builder, args, kwargs)
        return fig

    return wrapper


def translated_figure(fig: go.Figure) -> dict:
    """The figure as a plotly JSON dictionary, with its titles, legend entries,
    hover templates and category labels in the language in force (exact
    look-up in the package catalog; names of places and routes stay as they are).
    A figure of a :func:`drawn_per_language` builder is built again in that language."""
    rebuild = getattr(fig, "_cb_build", None)
    if rebuild is not None and i18n.current_language() != i18n.SOURCE_LANGUAGE:
        builder, args, kwargs = rebuild
        fig = builder(*args, **kwargs)
    d = json.loads(fig.to_json())
    d["data"] = [_translate_tree(t) for t in d.get("data", [])]
    layout = d.get("layout", {})
    d["layout"] = {k: (_translate_tree(v, k) if k != "template" else v) for k, v in layout.items()}
    d["layout"].setdefault("separators", separators())
    return d


def separators() -> str:
    """Plotly's ``layout.separators`` for the language in force: its decimal mark, then its
    thousands separator (Chile: ``",."``), so numbers plotly writes read as the tables do."""
    sample = i18n.decimal(1234.5, 1)
    return sample[-2] + sample[1]


class Chart:
    """A figure with caption, alternative text and source, displayable anywhere,
    drawn in every language of the build (see :mod:`citybridge.texts`)."""

    def __init__(self, fig: go.Figure, *, caption, alt, source):
        self.fig = fig
        self.caption = caption
        self.alt = alt
        self.source = source

    def to_html(self, spec: dict | None = None) -> str:
        """The book's ``<figure>`` in the language in force."""
        from .notebook import plain
        from .texts import tr

        spec = translated_figure(self.fig) if spec is None else spec
        div = f"cb-{uuid.uuid4().hex[:12]}"
        data = json.dumps(spec, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
        cap = html.escape(plain(self.caption))
        src = html.escape(tr("Source: {source}", source=plain(self.source)))
        alt = html.escape(plain(self.alt), quote=True)
        loader = (
            "(function(){var id=%s;function draw(){var el=document.getElementById(id);"
            "if(!el){return;}if(!window.Plotly){return setTimeout(draw,50);}"
            "var s=JSON.parse(document.getElementById(id+'-data').textContent);"
            "window.Plotly.newPlot(el,s.data,s.layout,{responsive:true,displaylogo:false});}"
            "if(document.readyState==='loading'){document.addEventListener('DOMContentLoaded',draw);}else{draw();}})();"
        ) % json.dumps(div)
        return (f'<figure class="cb-chart" role="group" aria-label="{alt}">'
                f'<div id="{div}" class="cb-plotly" role="img" aria-label="{alt}" '
                f'style="min-height:{int(self.fig.layout.height or 420)}px"></div>'
                f'<script type="application/json" id="{div}-data">{data}</script>'
                f"<script>{loader}</script>"
                f"<figcaption>{cap}<br><span class=\"cb-source\">{src}</span></figcaption>"
                f"</figure>")

    def draw(self) -> dict:
        """The output's data by MIME type, in the language in force."""
        from .notebook import plain
        from .texts import tr

        spec = translated_figure(self.fig)
        kind, src = tr("chart"), tr("Source: {source}", source=plain(self.source))
        return {
            "application/vnd.plotly.v1+json": spec,
            "text/html": self.to_html(spec),
            "text/plain": f"[{kind}] {plain(self.caption)} — {plain(self.alt)} ({src})",
        }

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .texts import VARIANTS_KEY, each_language

        drawn = each_language(self.draw)
        langs = list(drawn)
        data = drawn[langs[0]]
        if len(langs) == 1:
            return data
        others = {lang: {k: v for k, v in drawn[lang].items() if k != "application/vnd.plotly.v1+json"}
                  for lang in langs[1:]}
        return data, {"citybridge": {VARIANTS_KEY: others}}


def show(fig: go.Figure, *, caption, alt, source) -> Chart:
    """Wrap ``fig`` for display; make it the last expression of a cell.

    The caption, text alternative and source may be
    :class:`~citybridge.texts.Text` (translated when drawn); code
    identifiers in them read as words (:func:`citybridge.notebook.plain`).
    """
    return Chart(fig, caption=caption, alt=alt, source=source)


def bar_by_mode(df: pd.DataFrame, *, x: str = "mode", y: str, title: str = "", y_title: str = "") -> go.Figure:
    """Bars per mode in the mode colours."""
    d = df[df[x] != "total"]
    fig = go.Figure(go.Bar(x=d[x], y=d[y], marker_color=[MODE_COLORS.get(m, "#7f7f7f") for m in d[x]],
                           text=d[y].round(1), textposition="outside"))
    fig.update_yaxes(title=y_title or y)
    return style(fig, title=title)


def lines_by_mode(df: pd.DataFrame, *, x: str, y: str, mode: str = "mode", title: str = "",
                  x_title: str = "", y_title: str = "") -> go.Figure:
    """One line per mode (e.g. departures by hour)."""
    fig = go.Figure()
    for m in [m for m in MODE_COLORS if m in set(df[mode])]:
        d = df[df[mode] == m]
        fig.add_trace(go.Scatter(x=d[x], y=d[y], name=m, mode="lines+markers",
                                 line={"color": MODE_COLORS[m]}))
    fig.update_xaxes(title=x_title or x)
    fig.update_yaxes(title=y_title or y)
    return style(fig, title=title)


@drawn_per_language
def kpi_dashboard(kpis: pd.DataFrame, *, columns: int = 3, title: str = "") -> go.Figure:
    """A board of number tiles, one per KPI (``kpi``, ``value``, ``unit``, ``theme``).

    KPIs without a value are left out of the board (the table beside it says why).
    Long KPI names wrap over two lines so tiles never overlap. Names, themes
    and units are written in the language the figure is shown in.
    """
    import textwrap

    from .phrases import translate_phrase as say

    k = kpis.dropna(subset=["value"]).reset_index(drop=True)
    n = max(len(k), 1)
    rows = (n + columns - 1) // columns
    fig = go.Figure()
    for i, r in k.iterrows():
        row, col = divmod(i, columns)
        v = float(r["value"])
        fmt = ",.0f" if abs(v) >= 100 or v.is_integer() else (",.1f" if abs(v) >= 1 else ".2g")
        name = "<br>".join(html.escape(x) for x in textwrap.wrap(say(str(r["kpi"])), 24)[:2])
        unit = say(str(r["unit"]))
        fig.add_trace(go.Indicator(
            mode="number", value=v, number={"valueformat": fmt, "suffix": f" {unit}" if len(unit) <= 4 else "",
                                            "font": {"size": 26}},
            title={"text": f"{name}<br><span style='font-size:0.75em;color:#666'>"
                           f"{html.escape(say(str(r['theme'])))} · {html.escape(unit)}</span>",
                   "font": {"size": 13}},
            domain={"row": row, "column": col}))
    fig.update_layout(grid={"rows": rows, "columns": columns, "pattern": "independent", "ygap": 0.35},
                      separators=separators())
    return style(fig, title=say(title), height=max(240, 170 * rows))


#: One colour per city in comparison charts (colour-blind safe, in order).
CITY_COLORS = ["#1f77b4", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e"]


def value_text(v: float, unit: str = "") -> str:
    """A value as people of the language in force write it: whole numbers
    without decimals, large numbers with thousands separators, small ones
    with two decimals, and percentages with one decimal and the % sign (as
    in the tables)."""
    import math

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    v = float(v)
    if str(unit).startswith("%"):
        return f"{i18n.decimal(v, 1)} %"     # as in the tables: one decimal
    if v.is_integer() or abs(v) >= 100:
        return i18n.decimal(v, 0)
    return i18n.decimal(v, 1 if abs(v) >= 10 else 2)


@drawn_per_language
def kpi_small_multiples(t: pd.DataFrame, cities: list[str], *, columns: int = 3, title: str = "") -> go.Figure:
    """One small bar panel per KPI, each on its own axis with its unit.

    ``t`` has columns ``kpi``, ``unit`` and one value column per name in
    ``cities``. KPIs of different units never share an axis; panel titles
    wrap instead of being cut; the cities are named on each panel's x axis
    (horizontal labels, no legend to overlap them); each bar carries its
    value. Names, units and values are written in the language the figure is shown in.
    """
    import textwrap

    from plotly.subplots import make_subplots

    from .phrases import translate_phrase as say
    from .texts import tr

    t = t.reset_index(drop=True)
    n = max(len(t), 1)
    cols = min(columns, n)
    rows = (n + cols - 1) // cols
    titles = ["<br>".join(html.escape(x) for x in textwrap.wrap(tr("{kpi} ({unit})", kpi=say(r["kpi"]),
                                                                    unit=say(r["unit"])), 30)[:3])
              for _, r in t.iterrows()]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.12,
                        vertical_spacing=min(0.5 / rows, 0.3) if rows > 1 else 0.1)
    colors = {c: CITY_COLORS[i % len(CITY_COLORS)] for i, c in enumerate(cities)}
    # city names wrap on the x axis (narrow panels): "Santiago<br>de Chile"
    ticks = ["<br>".join(html.escape(w) for w in textwrap.wrap(c, 10)) or html.escape(c) for c in cities]
    ymax = {}
    for i, r in t.iterrows():
        row, col = divmod(i, cols)
        vals = [r.get(c) for c in cities]
        fig.add_trace(go.Bar(x=ticks, y=vals, marker_color=[colors[c] for c in cities], showlegend=False,
                             text=[value_text(v, r["unit"]) for v in vals], textposition="outside",
                             cliponaxis=False, name=say(str(r["kpi"])),
                             hovertemplate="%{x}: %{text}<extra>" + html.escape(say(str(r["kpi"]))) + "</extra>"),
                      row=row + 1, col=col + 1)
        finite = [float(v) for v in vals if v is not None and pd.notna(v)]
        ymax[(row, col)] = max(finite + [0.0])
    for (row, col), top in ymax.items():
        # room above the tallest bar for its value label
        fig.update_yaxes(range=[0, top * 1.25 if top > 0 else 1], row=row + 1, col=col + 1,
                         tickformat=",~g", nticks=4)
    fig.update_xaxes(tickangle=0, automargin=True)
    # panel titles sit clear of their panel's top tick label
    fig.update_annotations(font={"size": 12}, yshift=10)
    style(fig, title=say(title), height=max(300, 250 * rows + 60))
    fig.update_layout(separators=separators(), showlegend=False, margin={"l": 50, "r": 20, "t": 90 if title else 70, "b": 40})
    return fig


def ranked_bars(df: pd.DataFrame, *, label: str, value: str, color: str | None = None,
                colors: dict[str, str] | None = None, value_title: str = "", legend_title: str = "",
                percent: bool = False, title: str = "") -> go.Figure:
    """Horizontal bars, one per row in the order given (first on top), so long
    names read horizontally and never overlap; ``percent`` shows a 0–1 value
    as a percentage. The legend (by ``color``) sits above the plot."""
    d = df.iloc[::-1].copy()
    # names are text, never markup (plotly reads a subset of HTML in labels)
    d[label] = d[label].astype(str).map(html.escape)
    fig = go.Figure()
    groups = [(None, d)] if color is None else [(k, d[d[color] == k]) for k in dict.fromkeys(d[color])]
    for key, g in groups:
        vals = g[value] * (100 if percent else 1)
        fig.add_trace(go.Bar(y=g[label].astype(str), x=vals, orientation="h", name=str(key or value),
                             marker_color=(colors or {}).get(key, CITY_COLORS[0]) if key is not None else CITY_COLORS[0],
                             text=[value_text(v, "%" if percent else "") for v in vals], textposition="outside",
                             cliponaxis=False, showlegend=key is not None))
    fig.update_yaxes(categoryorder="array", categoryarray=list(d[label].astype(str)), automargin=True)
    top = float((d[value] * (100 if percent else 1)).max() or 1)
    fig.update_xaxes(title=value_title or value, range=[0, top * 1.2], ticksuffix=" %" if percent else "")
    style(fig, title=title, height=max(260, 26 * len(d) + 140))
    fig.update_layout(barmode="overlay", legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0,
                                                 "title": {"text": legend_title}},
                      margin={"l": 20, "r": 30, "t": 60, "b": 50})
    return fig


def quantile_boxes(df: pd.DataFrame, *, x: str, y: str, color: str, x_order: list[str] | None = None,
                   colors: dict[str, str] | None = None, y_title: str = "") -> go.Figure:
    """Box plots drawn from precomputed quartiles (one box per ``x`` × ``color``).

    Plotly's own box plot embeds every value in the page; on a metropolis
    (tens of thousands of segments per period) that makes pages of several
    megabytes. Here each box carries five numbers: the 5th percentile, the
    quartiles and the 95th percentile (whiskers at 5 % and 95 %).
    """
    q = (df.groupby([color, x], observed=True)[y]
           .quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack().reset_index())
    order = x_order or list(pd.unique(df[x]))
    fig = go.Figure()
    for key, g in q.groupby(color, sort=False):
        g = g.set_index(x).reindex([o for o in order if o in set(g[x])]).reset_index()
        fig.add_trace(go.Box(x=g[x], lowerfence=g[0.05], q1=g[0.25], median=g[0.5], q3=g[0.75],
                             upperfence=g[0.95], name=str(key), boxpoints=False,
                             marker_color=(colors or {}).get(key)))
    fig.update_layout(boxmode="group", yaxis_title=y_title)
    fig.update_xaxes(categoryorder="array", categoryarray=order)
    return fig
