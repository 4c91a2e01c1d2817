"""Built pages in headless Chromium with no network: maps and charts draw,
nothing is requested from outside the machine, no console errors.

Screenshots of every checked page go to ``screenshots/`` for reviewers.
Skips only where Chromium is absent; CI installs it (.ci/run).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from browser import CHROMIUM, open_page
from conftest import SCREENSHOTS

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")

# pages whose notebooks draw at least one map and one chart
FIGURE_PAGES = ["01_network", "02_service", "03_access", "04_speed", "05_low_carbon"]


def _pages(html: Path) -> list[Path]:
    skip = {"search.html", "genindex.html"}
    return sorted(p for p in html.rglob("*.html") if p.name not in skip and "_static" not in p.parts)


def test_every_page_loads_offline_without_errors(built_book):
    root, _, index = built_book
    html = index.parent
    problems = {}
    for page in _pages(html):
        rel = page.relative_to(html)
        shot = SCREENSHOTS / (str(rel.with_suffix("")).replace("/", "__") + ".png")
        r = open_page(page, screenshot=shot, wait=2.5)
        issues = []
        if r.remote_requests:
            issues.append(f"requests left the machine: {r.remote_requests[:3]}")
        if r.failed:
            issues.append(f"failed requests: {r.failed[:3]}")
        if r.console_errors:
            issues.append(f"console errors: {r.console_errors[:3]}")
        if r.dialogs:
            issues.append(f"dialogs opened: {r.dialogs}")
        if r.plotly_charts < r.want_charts or (r.want_charts and r.plotly_traces == 0):
            issues.append(f"charts drawn {r.plotly_charts} of {r.want_charts}")
        if r.leaflet_maps < r.want_maps:
            issues.append(f"maps drawn {r.leaflet_maps} of {r.want_maps}")
        if issues:
            problems[str(rel)] = issues
    assert not problems, problems


@pytest.mark.parametrize("city", ["santiago", "hangzhou"])
@pytest.mark.parametrize("chapter", FIGURE_PAGES)
def test_city_page_draws_map_and_chart(built_book, city, chapter):
    root, _, index = built_book
    page = index.parent / "cities" / city / f"{chapter}.html"
    r = open_page(page, wait=4.0, screenshot=SCREENSHOTS / f"{city}__{chapter}.png")
    assert r.leaflet_maps >= 1, "no Leaflet map on the page"
    assert r.leaflet_paths >= 5, f"the map drew only {r.leaflet_paths} lines/points"
    assert r.plotly_charts >= 1 and r.plotly_traces >= 1, "no Plotly trace drawn"
    assert r.remote_requests == [], r.remote_requests
    assert r.console_errors == [], r.console_errors
    assert "Illustrative sample data" in r.text


# ---- charts one can read, maps that open on the city ------------------------

#: For every Plotly chart: text boxes of tick labels, panel titles and legend,
#: the chart's own box, and which pairs overlap or stick out (clipped).
_CHART_LAYOUT_JS = r"""
(() => {
  const out = [];
  const R = e => { const r = e.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const overlap = (a, b) => Math.min(a.r, b.r) - Math.max(a.l, b.l) > 1 && Math.min(a.b, b.b) - Math.max(a.t, b.t) > 1;
  for (const p of document.querySelectorAll('.js-plotly-plot')) {
    const box = R(p.querySelector('svg.main-svg'));
    const items = [];
    p.querySelectorAll('.xtick text, .ytick text').forEach(e => { if (e.textContent.trim()) items.push(['tick', e.textContent, R(e)]); });
    p.querySelectorAll('.annotation-text, .g-gtitle text').forEach(e => items.push(['title', e.textContent, R(e)]));
    p.querySelectorAll('.legend .traces').forEach(e => items.push(['legend', e.textContent, R(e)]));
    const problems = [];
    for (const [k, txt, r] of items) {
      if (r.l < box.l - 1 || r.r > box.r + 1 || r.t < box.t - 1 || r.b > box.b + 1) problems.push('clipped ' + k + ' ' + txt);
    }
    for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
      if (overlap(items[i][2], items[j][2])) problems.push('overlap ' + items[i][1] + ' / ' + items[j][1]);
    }
    out.push({n: items.length, problems});
  }
  return out;
})()
"""


def chart_problems(page: Path) -> list:
    from browser import evaluate_page

    return evaluate_page(page, _CHART_LAYOUT_JS, wait=3.0) or []


def test_compare_charts_have_no_clipped_or_overlapping_labels(built_book):
    root, _, index = built_book
    charts = chart_problems(index.parent / "compare" / "compare.html")
    assert charts, "no chart on the comparison page"
    assert all(c["n"] > 0 for c in charts)
    assert [c["problems"] for c in charts if c["problems"]] == []


#: The view of every map frame: its bounds, and the extents of its buttons.
_MAP_VIEW_JS = r"""
(() => {
  const out = [];
  for (const f of document.querySelectorAll('figure.cb-map iframe')) {
    const w = f.contentWindow; if (!w || !w.L) { out.push(null); continue; }
    for (const k of Object.keys(w)) {
      const v = w[k];
      if (v && v instanceof w.L.Map) {
        const b = v.getBounds();
        const buttons = Array.from(f.contentDocument.querySelectorAll('.cb-views button')).map(x => x.textContent);
        const labels = f.contentDocument.querySelectorAll('.cb-label').length;
        out.push({w: b.getWest(), s: b.getSouth(), e: b.getEast(), n: b.getNorth(), buttons, labels});
        break;
      }
    }
  }
  return out;
})()
"""


@pytest.mark.parametrize("city", ["santiago", "hangzhou"])
def test_city_maps_open_on_the_urban_area(built_book, city):
    from browser import evaluate_page
    from citybridge import citymap
    from citybridge.city import load_city

    root, _, index = built_book
    place = load_city(city, root=root / "data" / "cities")
    ctx = citymap.context(place)
    assert ctx.urban is not None, "the sample cities class their districts urban or rural"
    uw, us, ue, un = ctx.urban
    cx, cy = (uw + ue) / 2, (us + un) / 2
    for chapter in ["01_network", "02_service", "03_access", "04_speed", "06_multimodal"]:
        views = evaluate_page(index.parent / "cities" / city / f"{chapter}.html", _MAP_VIEW_JS, wait=3.0)
        for v in views or []:
            assert v is not None, f"{chapter}: a map did not load"
            # the view holds the urban area's centre and is not much wider than the urban area
            assert v["w"] <= cx <= v["e"] and v["s"] <= cy <= v["n"], (chapter, v, ctx.urban)
            assert (v["e"] - v["w"]) <= 3 * (ue - uw) or (v["n"] - v["s"]) <= 3 * (un - us), (chapter, v, ctx.urban)
            assert v["buttons"] == ["urban area", "whole region"], (chapter, v)
            assert v["labels"] > 0, f"{chapter}: no district named"


def test_no_chart_in_the_book_has_clipped_or_overlapping_labels(built_book):
    root, _, index = built_book
    problems = {}
    for page in _pages(index.parent):
        if "cb-plotly" not in page.read_text(encoding="utf-8"):
            continue
        bad = [c["problems"] for c in chart_problems(page) if c["problems"]]
        if bad:
            problems[str(page.relative_to(index.parent))] = bad
    assert problems == {}
def test_santiago_observed_page_draws_vehicle_and_congestion_maps_and_fleet_chart(built_book):
    root, _, index = built_book
    page = index.parent / "cities" / "santiago" / "08_observed.html"
    r = open_page(page, wait=4.0, screenshot=SCREENSHOTS / "santiago__08_observed.png")
    assert r.leaflet_maps >= 2, f"vehicle and congestion maps expected, {r.leaflet_maps} drawn"
    assert r.leaflet_paths >= 10, f"the maps drew only {r.leaflet_paths} lines/points"
    assert r.plotly_charts >= 1 and r.plotly_traces >= 2, "the fleet chart was not drawn"
    assert r.remote_requests == [] and r.console_errors == [], (r.remote_requests, r.console_errors)
