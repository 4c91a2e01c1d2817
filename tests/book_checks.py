"""Checks of a built book as a reader sees it (used by test_book and
test_browser; runnable on any built ``_build/html`` folder:
``python tests/book_checks.py book/_build/html``)."""
from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from citybridge.notebook import COUNT_COLUMNS, IDENTIFIERS, header

def pages(html: Path) -> list[Path]:
    skip = {"search.html", "genindex.html"}
    return sorted(p for p in html.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts)


def _article(page: Path):
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return soup.find("article") or soup


def machinery_shown(html: Path) -> dict[str, list[str]]:
    """Pages that show a parameters cell, papermill's injected cell or an
    exercise answer cell, with what was found."""
    found = {}
    for page in pages(html):
        art = _article(page)
        hits = []
        for cell in art.select("div.cell"):
            classes = " ".join(cell.get("class", []))
            text = cell.get_text(" ")
            if "tag_parameters" in classes or "tag_injected-parameters" in classes:
                hits.append(classes)
            elif "# Parameters" in text or "papermill" in text.lower():
                hits.append(text[:80])
            elif "exercises.check(" in text or "write your answer in" in text:
                hits.append(text[:80])
            elif "tag_hide-input" not in classes and any(
                    "exercises." in i.get_text() for i in cell.select("div.cell_input")):
                hits.append("code shown: " + text.strip()[:60])
        for el in art.select(".tag_lab-only"):
            hits.append(el.get_text(" ")[:80])
        if hits:
            found[str(page.relative_to(html))] = hits
    return found


#: Headers of count columns and units of count KPIs (whole numbers only).
COUNT_HEADERS = {header(c) for c in COUNT_COLUMNS} | {"vehicles", "routes", "stops", "trips", "warnings"}
COUNT_UNITS = {"routes", "stops", "stations", "trips", "vehicles", "findings", "piers", "people", "inhabitants",
               "count", "warnings", "errors"}


def decimal_counts(html: Path) -> dict[str, list[str]]:
    """Table cells that write a count with decimals ("39.0", "7,400,741.00"):
    cells of a count column, and the values of count rows (their unit is a
    count) in tables with a unit column (KPI boards, key figures)."""
    found = {}
    for page in pages(html):
        art = _article(page)
        bad = []
        for tb in art.select("table"):
            heads = [th.get_text(" ").strip().casefold() for th in tb.select("thead th")]
            unit_col = heads.index("unit") if "unit" in heads else None
            for tr in tb.select("tbody tr"):
                cells = [td.get_text(" ").strip() for td in tr.find_all(["td", "th"])]
                count_row = unit_col is not None and unit_col < len(cells) \
                    and cells[unit_col].casefold() in COUNT_UNITS
                for i, text in enumerate(cells):
                    col = heads[i] if i < len(heads) else ""
                    if not re.match(r"^-?\d[\d,]*\.\d+$", text):
                        continue
                    if col in COUNT_HEADERS or count_row:
                        bad.append(f"{col}: {text}")
        if bad:
            found[str(page.relative_to(html))] = bad[:5]
    return found


def identifiers_shown(html: Path, identifiers=tuple(IDENTIFIERS)) -> dict[str, list[str]]:
    """Code identifiers in the readers' prose (paragraphs, list items,
    captions, headings) or in table headers. Code shown as code (code cells,
    ``<pre>``, inline ``<code>``, used by the reference pages to name a
    city.yml key) is not prose and is left out."""
    pat = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, identifiers)) + r")(?!\w)")
    found = {}
    for page in pages(html):
        art = _article(page)
        for el in art.select("div.cell_input, pre, code, script, style, iframe, .highlight"):
            el.decompose()
        hits = []
        for el in art.find_all(["p", "li", "th", "figcaption", "h1", "h2", "h3", "h4", "caption", "dt"]):
            for m in pat.finditer(el.get_text(" ")):
                hits.append(f"{el.name}: {m.group(1)}")
        if hits:
            found[str(page.relative_to(html))] = sorted(set(hits))
    return found


if __name__ == "__main__":  # manual use on a built book
    import json
    import sys

    h = Path(sys.argv[1])
    print(json.dumps({"machinery": machinery_shown(h), "decimal_counts": decimal_counts(h),
                      "identifiers": identifiers_shown(h)}, indent=1, ensure_ascii=False))
