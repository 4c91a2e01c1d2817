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
FIGURE_PAGES = ["01_network", "02_service", "03_access", "04_speed"]


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


def test_santiago_observed_page_draws_vehicle_and_congestion_maps_and_fleet_chart(built_book):
    root, _, index = built_book
    page = index.parent / "cities" / "santiago" / "08_observed.html"
    r = open_page(page, wait=4.0, screenshot=SCREENSHOTS / "santiago__08_observed.png")
    assert r.leaflet_maps >= 2, f"vehicle and congestion maps expected, {r.leaflet_maps} drawn"
    assert r.leaflet_paths >= 10, f"the maps drew only {r.leaflet_paths} lines/points"
    assert r.plotly_charts >= 1 and r.plotly_traces >= 2, "the fleet chart was not drawn"
    assert r.remote_requests == [] and r.console_errors == [], (r.remote_requests, r.console_errors)
