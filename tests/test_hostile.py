"""Hostile names in a feed show as text on every built page, table, tooltip
and popup, and never run.

A small city is made with ``new_city`` from a feed whose agency, route and
stop names are HTML/JavaScript; the book is built for it alone (chapters 00,
01 and 02, to stay fast) and opened in headless Chromium. Skips where
Chromium is absent.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from browser import CHROMIUM, Browser, open_page
from conftest import SCREENSHOTS, copy_project
from gtfs_fixtures import timetable_tables, write_feed

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
CHAPTERS = ("00", "01", "02")

#: Hover every feature of every Leaflet map (in map iframes) and collect the tooltips.
_TOOLTIPS_JS = r"""
(() => {
  const out = [];
  for (const f of document.querySelectorAll('iframe')) {
    let w; try { w = f.contentWindow; if (!w || !w.L) continue; } catch (e) { continue; }
    for (const k of Object.keys(w)) {
      const m = w[k];
      if (!(m && m instanceof w.L.Map)) continue;
      m.eachLayer(l => {
        if (!l.getTooltip || !l.getTooltip()) return;
        const parts = [];
        if (l.eachLayer) l.eachLayer(c => parts.push(c)); else parts.push(l);
        for (const c of parts) {
          let ll = null;
          try { ll = c.getLatLng ? c.getLatLng() : c.getBounds().getCenter(); } catch (e) {}
          try { c.fire('mouseover', {latlng: ll, layer: c}, true); } catch (e) { continue; }
          const el = l.getTooltip().getElement();
          if (el) out.push({text: el.innerText, elements: el.querySelectorAll('img,script,iframe').length});
        }
      });
    }
  }
  return out;
})()
"""


def _hostile_feed(path: Path) -> Path:
    t = timetable_tables()
    t["agency.txt"] = ("agency_id,agency_name,agency_url,agency_timezone\n"
                       f"A,{IMG},http://example.org,America/Santiago\n"
                       f"B,{SCRIPT},http://example.org,America/Santiago\n")
    t["stops.txt"] = ("stop_id,stop_name,stop_lat,stop_lon\n"
                      f"S1,{IMG},-33.45,-70.70\nS2,{SCRIPT},-33.45,-70.689255\n"
                      f"S3,{IMG},-33.45,-70.67851\nS4,{SCRIPT},-33.45,-70.667765\n")
    t["routes.txt"] = ("route_id,agency_id,route_short_name,route_long_name,route_type\n"
                       f"B1,A,{IMG},{SCRIPT},3\nM1,B,{SCRIPT},{IMG},1\n")
    return write_feed(path, t)


@pytest.fixture(scope="module")
def hostile_book(tmp_path_factory):
    from citybridge.book import build
    from citybridge.newcity import new_city

    base = tmp_path_factory.mktemp("hostile")
    root = copy_project(base / "project")
    for slug in ("santiago", "hangzhou"):
        shutil.rmtree(root / "data" / "cities" / slug, ignore_errors=True)
    # book.build has no notebook filter: keep only the chapters this test reads
    for nb in (root / "notebooks").glob("*.ipynb"):
        if not nb.name.startswith(tuple(f"{c}_" for c in CHAPTERS)):
            nb.unlink()
    new_city("hostile", _hostile_feed(base / "feed.zip"), root=root / "data" / "cities")
    report, index = build(root, cities=["hostile"], strict=False)
    assert not report.city_errors and not report.failures, (report.city_errors,
                                                            [(r.job.label, r.error) for r in report.failures])
    return index.parent / "cities" / "hostile"


def _page(html: Path, stem: str) -> Path:
    if stem == "index":
        return html / "index.html"
    return next(html.glob(f"{stem}_*.html"))


@pytest.mark.parametrize("stem,names", [("index", [IMG]), ("00", [IMG, SCRIPT]), ("01", [IMG]),
                                        ("02", [IMG, SCRIPT])])
def test_names_show_as_text_and_nothing_runs(hostile_book, stem, names):
    page = _page(hostile_book, stem)
    source = page.read_text(encoding="utf-8")
    assert IMG not in source and SCRIPT not in source, "a name reached the page source unescaped"
    r = open_page(page, wait=2.5, screenshot=SCREENSHOTS / f"hostile__{page.stem}.png")
    assert r.dialogs == [], f"a name ran as code on {page.name}: {r.dialogs}"
    for name in names:
        assert name in r.text, f"{name!r} is not shown as text on {page.name}"
    assert not [u for u in r.requests if u.endswith("/x")], "the <img src=x> was loaded"


@pytest.mark.parametrize("stem", ["01", "02"])
def test_map_tooltips_show_names_as_text(hostile_book, stem):
    page = _page(hostile_book, stem)
    b = Browser()
    try:
        b.call("Page.navigate", url=page.resolve().as_uri())
        b.pump(2.5)
        tips = b.evaluate(_TOOLTIPS_JS) or []
        b.pump(1.0)
        dialogs = [e["params"].get("message") for e in b.events
                   if e.get("method") == "Page.javascriptDialogOpening"]
    finally:
        b.close()
    assert tips, "no map tooltip could be opened"
    assert dialogs == [], f"a name in a map tooltip ran as code: {dialogs}"
    assert all(t["elements"] == 0 for t in tips), tips
    text = "\n".join(t["text"] for t in tips)
    assert IMG in text and SCRIPT in text, text
