"""Every chapter completes on real-shaped feeds that ``validate`` calls usable (issue 13, class 0).

The five fixtures of :mod:`realshaped` (rail only, ferry only, empty
periods, calendar_dates only with one-digit hours, many route types with
windows past 24:00) are written as cities in a temporary folder; every
chapter notebook present in ``notebooks/`` is executed for each, and the
comparison notebooks for all five together. Where something cannot be
computed (no buses), the chapter must say so in a sentence.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from citybridge.pipeline import city_notebooks, compare_notebooks, execute, plan
from citybridge.validate import exit_code, validate
from realshaped import FEEDS, write_city

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    base = tmp_path_factory.mktemp("realshaped")
    croot = base / "cities"
    for slug in FEEDS:
        write_city(croot, slug)
    jobs, errors = plan(ROOT, book_dir=base / "book", cities_root=croot)
    assert errors == {}
    results = execute(jobs, cache_dir=None, cwd=ROOT / "notebooks")
    return {(r.job.city, Path(r.job.notebook).stem): r for r in results}, base / "book", croot


@pytest.mark.parametrize("slug", list(FEEDS))
def test_validate_calls_it_usable(executed, slug):
    _, _, croot = executed
    assert exit_code(validate(croot / slug)) < 2


@pytest.mark.parametrize("slug", list(FEEDS))
def test_every_chapter_completes(executed, slug):
    results, _, _ = executed
    stems = [p.stem for p in city_notebooks(ROOT)]
    assert stems, "no chapter notebook found"
    failed = {s: results[(slug, s)].error for s in stems if not results[(slug, s)].ok}
    assert failed == {}, failed


def test_comparison_completes(executed):
    results, _, _ = executed
    for nb in compare_notebooks(ROOT):
        r = results[(None, nb.stem)]
        assert r.ok, r.error


def _text(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            out.append("".join(data.get("text/plain", "")) + "".join(o.get("text", "")))
    return "\n".join(out)


@pytest.mark.parametrize("slug", ["railonly", "ferryonly"])
def test_bus_less_feed_says_so_in_chapter_05(executed, slug):
    _, book, _ = executed
    page = book / "cities" / slug / "05_low_carbon.ipynb"
    if not page.exists():
        pytest.skip("chapter 05 is not in this worktree")
    assert "the feed has no bus trips" in _text(page)
