"""Built pages in headless Chromium with no network: maps and charts draw,
nothing is requested from outside the machine, no console errors.

Screenshots of every checked page go to ``screenshots/`` for reviewers.
Skips only where Chromium is absent; CI installs it (.ci/run).
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from browser import CHROMIUM, evaluate_page, open_page
from conftest import SCREENSHOTS

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")

# pages whose notebooks draw at least one map and one chart
FIGURE_PAGES = ["01_network", "02_service", "03_access", "04_speed", "05_low_carbon"]


EDITIONS = ("en", "es", "zh")


def _pages(html: Path, *, editions: bool = True) -> list[Path]:
    """The book's pages: with ``editions``, the root page and every page of the three editions
    (``en/`` holds the same English pages as the root copy kept for old links, so that copy is not
    opened twice); without, the English pages of the root copy only."""
    skip = {"search.html", "genindex.html"}
    pages = sorted(p for p in html.rglob("*.html") if p.name not in skip and "_static" not in p.parts)
    in_edition = [p for p in pages if p.relative_to(html).parts[0] in EDITIONS]
    root_copy = [p for p in pages if p.relative_to(html).parts[0] not in EDITIONS]
    if not editions or not in_edition:
        return root_copy
    return [html / "index.html", *in_edition]


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
    status = {"santiago": "Reconstructed from official data", "hangzhou": "Illustrative sample data"}
    assert status.get(city, "") in r.text


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
    from citybridge.feed import feed_day

    root, _, index = built_book
    place = load_city(city, root=root / "data" / "cities")
    ctx = citymap.context(place, feed_day(place, None))
    assert ctx.urban is not None, "the sample cities class their districts urban or rural"
    uw, us, ue, un = ctx.urban
    rw, rs, re_, rn = ctx.region
    assert (ue - uw) < (re_ - rw), "the urban view is smaller than the region"
    tol = 0.02 * (ue - uw)
    for chapter in ["01_network", "02_service", "03_access", "04_speed", "06_multimodal"]:
        views = evaluate_page(index.parent / "cities" / city / f"{chapter}.html", _MAP_VIEW_JS, wait=3.0)
        for v in views or []:
            assert v is not None, f"{chapter}: a map did not load"
            # the map opens showing the whole urban core, and not much more of the region
            assert v["w"] <= uw + tol and v["e"] >= ue - tol and v["s"] <= us + tol and v["n"] >= un - tol, \
                (chapter, v, ctx.urban)
            assert (v["e"] - v["w"]) <= 3 * (ue - uw) or (v["n"] - v["s"]) <= 3 * (un - us), (chapter, v, ctx.urban)
            assert v["buttons"] == ["urban area", "whole region"], (chapter, v)
            assert v["labels"] > 0, f"{chapter}: no district named"


def test_no_chart_in_the_book_has_clipped_or_overlapping_labels(built_book):
    root, _, index = built_book
    problems = {}
    # the charts are the same in every edition (computed outputs are drawn once), so the English
    # pages are enough here; every edition's page is opened by the test above
    for page in _pages(index.parent, editions=False):
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



_TABLES_JS = r"""
(() => Array.from(document.querySelectorAll('figure.cb-table-figure')).map(f => {
  const s = f.querySelector('.cb-table-scroll'), col = f.closest('article') || document.body;
  const fr = f.getBoundingClientRect(), cr = col.getBoundingClientRect();
  return {scrolls: !!s && getComputedStyle(s).overflowX === 'auto',
          inside: fr.right <= cr.right + 1 && fr.left >= cr.left - 1,
          wide: s ? s.scrollWidth > s.clientWidth : false};
}))()
"""


@pytest.mark.parametrize("page", ["cities/hangzhou/03_access.html", "cities/hangzhou/04_speed.html",
                                  "cities/hangzhou/07_operations.html", "compare/compare.html"])
def test_wide_tables_scroll_inside_the_page_column(built_book, page):
    from browser import evaluate_page

    root, _, index = built_book
    tables = evaluate_page(index.parent / page, _TABLES_JS, wait=2.0)
    assert tables, "no table on the page"
    assert all(t["scrolls"] and t["inside"] for t in tables), tables


@pytest.mark.parametrize("page", ["es/cities/santiago/03_access.html", "zh/cities/hangzhou/01_network.html",
                                  "en/compare/compare.html", "es/intro.html"])
def test_language_switcher_leads_to_the_same_page_in_the_other_editions(built_book, page):
    """As the browser resolves them, the switcher's links reach this page in the two other editions,
    and the switcher is on screen (not hidden by the theme)."""
    root, _, index = built_book
    html = index.parent
    path = html / page
    if not path.exists():
        pytest.skip(f"{page} is not in this build")
    got = evaluate_page(path, """(() => {
        const nav = document.querySelector('nav.cb-lang-switch');
        if (!nav) return null;
        const r = nav.getBoundingClientRect();
        return {visible: r.width > 0 && r.height > 0 && getComputedStyle(nav).visibility !== 'hidden',
                links: [...nav.querySelectorAll('a')].map(a => [a.getAttribute('hreflang'), a.href])};
    })()""", wait=1.0)
    assert got is not None, f"{page}: no language switcher"
    assert got["visible"], f"{page}: the language switcher is not visible"
    lang, rest = page.split("/", 1)
    expected = {code: (html / code / rest).resolve() for code in EDITIONS if code != lang}
    reached = {}
    for hreflang, href in got["links"]:
        target = Path(unquote(href.removeprefix("file://"))).resolve()
        reached[target.relative_to(html).parts[0]] = target
    assert reached == expected
    assert all(t.is_file() for t in reached.values())
